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

// After the message, the binding appends its causes' messages (outermost first) as JSON.
const CAUSES_SEPARATOR = '\u001e';

/** The causes as a chain of errors (`cause` of `cause`), or the native error when there are none. */
function causeChain(causes, nativeError) {
  return causes.reduceRight((inner, message) => {
    const error = new Error(message, inner === undefined ? undefined : { cause: inner });
    error.name = 'MicrosandboxRuntimeError';
    return error;
  }, undefined) ?? nativeError;
}

function parseCauses(text) {
  try {
    const causes = JSON.parse(text);
    return Array.isArray(causes) ? causes.filter((c) => typeof c === 'string') : [];
  } catch {
    return [];
  }
}

export function fromNative(err) {
  const raw = err?.message ?? '';
  const split = raw.lastIndexOf(CAUSES_SEPARATOR);
  const head = split === -1 ? raw : raw.slice(0, split);
  const match = /^\[(ERR_MICROSANDBOX_[A-Z_]+)\] ([\s\S]*)$/.exec(head);
  if (!match) return err;
  const [, code, message] = match;
  const cause = causeChain(split === -1 ? [] : parseCauses(raw.slice(split + 1)), err);
  if (CAPABILITY_CODES.has(code)) {
    const unsupported = new HarnessCapabilityUnsupportedError({ message, harnessId: PROVIDER_ID, cause });
    unsupported.code = code;
    return unsupported;
  }
  return new MicrosandboxError(code, message, { cause });
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
