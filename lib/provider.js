// createMicrosandbox(): the HarnessV1SandboxProvider object.
import { abortReason, throwIfAborted } from './abort.js';
import { callNative, callNativeSync, PROVIDER_ID } from './errors.js';
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

export function createMicrosandbox(settings) {
  const provider = callNativeSync(() => new NativeProvider(nativeSettings(settings)));

  // A session created after its caller gave up must not be left running.
  async function settle(created, abortSignal) {
    const nativeSession = await callNative(() => created);
    if (abortSignal?.aborted) {
      await nativeSession.destroy().catch(() => {});
      throw abortReason(abortSignal);
    }
    return new MicrosandboxNetworkSandboxSession(nativeSession);
  }

  return {
    specificationVersion: 'harness-sandbox-v1',
    providerId: PROVIDER_ID,

    async createSession({ sessionId, abortSignal, identity, onFirstCreate } = {}) {
      throwIfAborted(abortSignal);
      const session = await settle(provider.createSession(sessionId), abortSignal);
      // Without a template snapshot, first-create setup runs on every fresh session.
      if (onFirstCreate && !provider.wrapsSandbox && identity !== undefined) {
        try {
          await onFirstCreate(session.restricted(), { abortSignal });
        } catch (err) {
          await session.destroy().catch(() => {});
          throw err;
        }
      }
      return session;
    },

    async resumeSession({ sessionId, abortSignal }) {
      throwIfAborted(abortSignal);
      return settle(provider.resumeSession(sessionId), abortSignal);
    },
  };
}
