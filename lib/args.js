// Argument types checked before the addon sees them: napi's own conversion error would print the
// whole value (a token in an object, say). Contents (length, NUL, names) are the core's to check.
import { MicrosandboxError } from './errors.js';
import { plainJson } from './json.js';

const kind = (value) => (value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`);

/** `value` when it is a string (or absent, when `optional`); a coded error naming `name` otherwise. */
export function stringArg(value, name, { optional = false } = {}) {
  if (typeof value === 'string' || (optional && value == null)) return value ?? undefined;
  throw new MicrosandboxError('ERR_MICROSANDBOX_INVALID_ARGUMENT', `\`${name}\` must be a string (got ${kind(value)})`);
}

/** `value` as plain data (its contents are the core's to check), or undefined when absent. */
export function dataArg(value, name) {
  return value == null ? undefined : plainJson(value, name, { code: 'ERR_MICROSANDBOX_INVALID_ARGUMENT' });
}
