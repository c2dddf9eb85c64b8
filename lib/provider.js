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

  // Runs the caller's setup on a fresh template microVM and publishes its
  // snapshot; on failure nothing is published. Null template: already published.
  async function bootstrapTemplate(identity, onFirstCreate, abortSignal) {
    const template = await settle(() => provider.prepareTemplate(identity), abortSignal, (t) => t.abandon());
    if (template === null) return;
    try {
      await onFirstCreate(new MicrosandboxNetworkSandboxSession(template.session).restricted(), { abortSignal });
      throwIfAborted(abortSignal);
    } catch (err) {
      await template.abandon().catch(() => {});
      throw err;
    }
    await callNative(() => template.publish());
  }

  const close = () => callNative(() => provider.close());
  // Warm microVMs must not outlive a script that simply runs out of work.
  if (provider.warmPoolStatus() !== null) process.once('beforeExit', close);

  return {
    specificationVersion: 'harness-sandbox-v1',
    providerId: PROVIDER_ID,

    async createSession({ sessionId, abortSignal, identity, onFirstCreate } = {}) {
      throwIfAborted(abortSignal);
      // A wrapped sandbox belongs to the caller: first-create setup is theirs.
      const firstCreate = provider.wrapsSandbox ? undefined : onFirstCreate;
      if (firstCreate && identity !== undefined && provider.supportsTemplates) {
        await bootstrapTemplate(identity, firstCreate, abortSignal);
      }
      const nativeSession = await settle(() => provider.createSession(sessionId, identity), abortSignal, (s) => s.destroy());
      const session = new MicrosandboxNetworkSandboxSession(nativeSession);
      // Not forked from a template (none possible for this image): set up this session itself.
      if (firstCreate && !nativeSession.forkedFromTemplate) {
        try {
          await firstCreate(session.restricted(), { abortSignal });
        } catch (err) {
          await session.destroy().catch(() => {});
          throw err;
        }
      }
      return session;
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
