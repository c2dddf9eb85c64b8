// The one path from JS to the core's create and resume, shared by the
// provider shape and today's session factories: aborts, the caller's setup
// callback, and the harness session around the native one.
import { abortReason, throwIfAborted } from './abort.js';
import { stringArg } from './args.js';
import { callNative, callNativeSync, MicrosandboxError } from './errors.js';
import { MicrosandboxNetworkSandboxSession } from './network-session.js';

/**
 * Awaits native work that an abort cancels natively (the core removes what it
 * created). What finished just as the abort came is handed to `discard`
 * (a created session is removed; a resumed one is only let go).
 */
async function settle(start, abortSignal, discard) {
  const pending = callNativeSync(start);
  const cancel = () => pending.cancel();
  abortSignal?.addEventListener('abort', cancel, { once: true });
  let result;
  try {
    result = await callNative(() => pending.result());
  } catch (err) {
    if (abortSignal?.aborted) throw abortReason(abortSignal);
    throw err;
  } finally {
    abortSignal?.removeEventListener('abort', cancel);
  }
  if (abortSignal?.aborted) {
    if (result) await discard?.(result).catch(() => {});
    throw abortReason(abortSignal);
  }
  return result;
}

/**
 * Creates a session on `provider` (a NativeProvider). The core decides where
 * `setup` runs (a template microVM, or this session); it gets the restricted
 * session. When it fails, the caller gets their own error back.
 */
export async function createSession(provider, { sessionId, identity, setup, abortSignal }) {
  const nativeSession = await withSetup(setup, abortSignal, (nativeSetup) =>
    settle(
      () => provider.createSession(sessionId, stringArg(identity, 'identity', { optional: true }), nativeSetup),
      abortSignal,
      (s) => s.destroy(),
    ),
  );
  return new MicrosandboxNetworkSandboxSession(nativeSession);
}

/** Pulls or loads the image and bootstraps the identity's template on `provider`, ahead of any session. */
export async function prepareTemplate(provider, { identity, setup, abortSignal }) {
  return withSetup(setup, abortSignal, (nativeSetup) =>
    settle(() => provider.prepare(stringArg(identity, 'identity', { optional: true }), nativeSetup), abortSignal),
  );
}

/**
 * Runs `work` with the caller's setup wrapped for the core: it gets the
 * restricted session, and when it fails the caller gets their own error back.
 */
async function withSetup(setup, abortSignal, work) {
  throwIfAborted(abortSignal);
  if (setup != null && typeof setup !== 'function') {
    throw new MicrosandboxError('ERR_MICROSANDBOX_INVALID_ARGUMENT', '`onFirstCreate` must be a function (session, { abortSignal }) => Promise<void>');
  }
  let setupFailure;
  const nativeSetup = setup && (async (native) => {
    try {
      await setup(new MicrosandboxNetworkSandboxSession(native).restricted(), { abortSignal });
    } catch (err) {
      setupFailure = { err };
      throw err;
    }
  });
  try {
    return await work(nativeSetup);
  } catch (err) {
    throw setupFailure ? setupFailure.err : err;
  }
}

/** Resumes with `start()` (native pending work); an abort only stops waiting. */
export async function resumeSession(start, abortSignal) {
  throwIfAborted(abortSignal);
  return new MicrosandboxNetworkSandboxSession(await settle(start, abortSignal));
}
