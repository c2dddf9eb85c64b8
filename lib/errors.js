// Native errors arrive as "[CODE] message"; here they become errors with a
// stable `code`, or the harness's own error classes where the contract asks.
import { HarnessCapabilityUnsupportedError, HarnessError } from '@ai-sdk/harness';

export const PROVIDER_ID = 'microsandbox';

const marker = Symbol.for('ai-sdk-microsandbox.error');

/**
 * An error from ai-sdk-microsandbox; `code` is one of the ERR_MICROSANDBOX_* codes.
 * A `HarnessError` (its name stays `AI_HarnessError`), so the harness's
 * `getHarnessErrorMessage` passes our message on instead of masking it.
 */
export class MicrosandboxError extends HarnessError {
  constructor(code, message, options) {
    super({ message, cause: options?.cause });
    this[marker] = true;
    this.code = code;
  }

  /** Also true for errors of another copy of this package. */
  static isInstance(error) {
    return error != null && typeof error === 'object' && error[marker] === true;
  }
}

const CAPABILITY_CODES = new Set(['ERR_MICROSANDBOX_PORT_NOT_EXPOSED', 'ERR_MICROSANDBOX_UNSUPPORTED']);

export function fromNative(err) {
  const match = /^\[(ERR_MICROSANDBOX_[A-Z_]+)\] ([\s\S]*)$/.exec(err?.message ?? '');
  if (!match) return err;
  const [, code, message] = match;
  if (CAPABILITY_CODES.has(code)) {
    const unsupported = new HarnessCapabilityUnsupportedError({ message, harnessId: PROVIDER_ID, cause: err });
    unsupported.code = code;
    return unsupported;
  }
  return new MicrosandboxError(code, message, { cause: err });
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
