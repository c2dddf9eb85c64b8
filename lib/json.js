// Settings and arguments cross into Rust as JSON. Values JSON cannot carry (cycles, BigInt,
// functions, symbols) would otherwise fail inside the addon with a message that quotes them;
// here they fail with a coded error that names the field.
import { MicrosandboxError } from './errors.js';

export function plainJson(value, path = '', { code = 'ERR_MICROSANDBOX_INVALID_SETTINGS', seen = new Set() } = {}) {
  const name = path || 'settings';
  const type = typeof value;
  if (type === 'bigint' || type === 'function' || type === 'symbol') {
    throw new MicrosandboxError(code, `\`${name}\` is a ${type}, which plain data cannot hold; use a number, string, boolean, array or object`);
  }
  if (value === null || type !== 'object') return value;
  if (seen.has(value)) throw new MicrosandboxError(code, `\`${name}\` refers back to itself; it must be plain data without cycles`);
  seen.add(value);
  const copy = Array.isArray(value)
    ? value.map((item, i) => plainJson(item, `${path}[${i}]`, { code, seen }))
    : Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plainJson(item, path ? `${path}.${key}` : key, { code, seen })]));
  seen.delete(value);
  return copy;
}
