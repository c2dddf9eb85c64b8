// createMicrosandbox(): the HarnessV1SandboxProvider object.
import { createSession, resumeSession } from './create-session.js';
import { callNative, callNativeSync, PROVIDER_ID } from './errors.js';
import { plainJson } from './json.js';
import { NativeProvider } from './native.js';
import { nativeSettings, splitProgress } from './settings.js';

export function createMicrosandbox(settings) {
  const [data, onProgress] = splitProgress(settings);
  const provider = callNativeSync(() => new NativeProvider(plainJson(nativeSettings(data)), onProgress));

  const close = () => callNative(() => provider.close());
  // Warm microVMs must not outlive a script that simply runs out of work.
  if (provider.warmPoolStatus() !== null) process.once('beforeExit', close);

  return {
    specificationVersion: 'harness-sandbox-v1',
    providerId: PROVIDER_ID,

    async createSession({ sessionId, abortSignal, identity, onFirstCreate } = {}) {
      return createSession(provider, { sessionId, identity, setup: onFirstCreate, abortSignal });
    },

    async resumeSession({ sessionId, abortSignal }) {
      return resumeSession(() => provider.resumeSession(sessionId), abortSignal);
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
