// Guest bytes shown on an operator's terminal: control characters become visible escapes, so a
// guest can neither send terminal sequences (OSC 52 writes the clipboard, CSI moves the cursor)
// nor forge lines of its own.

const NAMED = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** `text` with every C0/C1 control character, DEL and backslash written as an escape. */
export function printable(text) {
  let out = '';
  for (const c of text) {
    const code = c.codePointAt(0);
    if (NAMED[c]) out += NAMED[c];
    else if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += c;
  }
  return out;
}
