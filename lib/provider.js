// createMicrosandbox(): the HarnessV1SandboxProvider object.
import { abortReason, throwIfAborted } from './abort.js';
import { callNative, callNativeSync, MicrosandboxError, PROVIDER_ID } from './errors.js';
import { plainJson } from './json.js';
import { NativeProvider } from './native.js';
import { MicrosandboxNetworkSandboxSession } from './network-session.js';

/** Wrap mode accepts the microsandbox JS SDK's Sandbox object or a sandbox name. */
function nativeSettings(settings) {
  if (settings == null) return {};
  if (typeof settings !== 'object' || Array.isArray(settings)) return settings;
  if (!('sandbox' in settings) || typeof settings.sandbox === 'string') return settings;
  const name = settings.sandbox?.name;
  return { ...settings, sandbox: typeof name === 'string' ? name : settings.sandbox };
}

/** `onProgress` is a callback, not data: it goes to the addon beside the settings. */
function splitProgress(settings) {
  if (settings == null || typeof settings !== 'object' || !('onProgress' in settings)) return [settings, undefined];
  const { onProgress, ...rest } = settings;
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new MicrosandboxError('ERR_MICROSANDBOX_INVALID_SETTINGS', '`onProgress` must be a function ({ phase, message }) => void');
  }
  return [rest, onProgress];
}

export function createMicrosandbox(settings) {
  const [data, onProgress] = splitProgress(settings);
  const provider = callNativeSync(() => new NativeProvider(plainJson(nativeSettings(data)), onProgress));

  // Awaits native work that an abort cancels natively (the core removes what it
  // created). What finished just as the abort came is handed to `discard`
  // (a created session is removed; a resumed one is only let go).
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

  const close = () => callNative(() => provider.close());
  // Warm microVMs must not outlive a script that simply runs out of work.
  if (provider.warmPoolStatus() !== null) process.once('beforeExit', close);

  return {
    specificationVersion: 'harness-sandbox-v1',
    providerId: PROVIDER_ID,

    async createSession({ sessionId, abortSignal, identity, onFirstCreate } = {}) {
      throwIfAborted(abortSignal);
      if (onFirstCreate != null && typeof onFirstCreate !== 'function') {
        throw new MicrosandboxError('ERR_MICROSANDBOX_INVALID_ARGUMENT', '`onFirstCreate` must be a function (session, { abortSignal }) => Promise<void>');
      }
      // The core decides where the setup runs (a template microVM, or this session);
      // when it fails, the caller gets their own error back.
      let setupFailure;
      const setup = onFirstCreate && (async (native) => {
        try {
          await onFirstCreate(new MicrosandboxNetworkSandboxSession(native).restricted(), { abortSignal });
        } catch (err) {
          setupFailure = { err };
          throw err;
        }
      });
      try {
        const nativeSession = await settle(() => provider.createSession(sessionId, identity, setup), abortSignal, (s) => s.destroy());
        return new MicrosandboxNetworkSandboxSession(nativeSession);
      } catch (err) {
        throw setupFailure ? setupFailure.err : err;
      }
    },

    async resumeSession({ sessionId, abortSignal }) {
      throwIfAborted(abortSignal);
      return new MicrosandboxNetworkSandboxSession(
        await settle(() => provider.resumeSession(sessionId), abortSignal),
      );
    },

    /**
     * Removes what nobody can use any more: sandboxes of sessions without a sessionId whose
     * process is gone, and bootstrap templates beyond the newest few not used recently.
     */
    async prune({ keepNewest, keepUsedWithinMs } = {}) {
      return callNative(() => provider.prune(keepNewest, keepUsedWithinMs));
    },

    warmPoolStatus() {
      return provider.warmPoolStatus();
    },

    async close() {
      process.off('beforeExit', close);
      await close();
    },

    async [Symbol.asyncDispose]() {
      await this.close();
    },
  };
}
