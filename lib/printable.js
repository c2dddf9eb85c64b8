// Guest bytes shown on an operator's terminal: control characters become visible escapes, so a
// guest can neither send terminal sequences (OSC 52 writes the clipboard, CSI moves the cursor)
// nor forge lines of its own.

/** `text` with every C0/C1 control character, DEL and backslash written as an escape. */
export function printable(text) {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\\]/g, (c) => {
    if (c === '\\') return '\\\\';
    if (c === '\t') return '\\t';
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}
