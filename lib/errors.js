// Native errors arrive as "[CODE] message"; here they become errors with a
// stable `code`, or the harness's own error classes where the contract asks.
import { HarnessCapabilityUnsupportedError } from '@ai-sdk/harness';

export const PROVIDER_ID = 'microsandbox';

/** An error from ai-sdk-microsandbox; `code` is one of the ERR_MICROSANDBOX_* codes. */
export class MicrosandboxError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = 'MicrosandboxError';
    this.code = code;
  }
}

const CAPABILITY_CODES = new Set(['ERR_MICROSANDBOX_PORT_NOT_EXPOSED', 'ERR_MICROSANDBOX_UNSUPPORTED']);

export function fromNative(err) {
  const match = /^\[(ERR_MICROSANDBOX_[A-Z_]+)\] ([\s\S]*)$/.exec(err?.message ?? '');
  if (!match) return err;
  const [, code, message] = match;
  if (CAPABILITY_CODES.has(code)) {
    const unsupported = new HarnessCapabilityUnsupportedError({ message, harnessId: PROVIDER_ID });
    unsupported.code = code;
    return unsupported;
  }
  return new MicrosandboxError(code, message);
}

/** Calls into the addon, rethrowing its errors in their JS form. */
export async function callNative(fn) {
  try {
    return await fn();
  } catch (err) {
    throw fromNative(err);
  }
}

export function callNativeSync(fn) {
  try {
    return fn();
  } catch (err) {
    throw fromNative(err);
  }
}
