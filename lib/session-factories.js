// Today's harness sandbox API (@ai-sdk/harness >= 1.0.126): the caller builds a
// session, from the agent's template, and hands it to
// `agent.createSession({ sandboxSession })`. Same core path as the provider.
import { createSession, prepareTemplate, resumeSession } from './create-session.js';
import { stringArg } from './args.js';
import { callNativeSync, MicrosandboxError } from './errors.js';
import { plainJson } from './json.js';
import { NativeProvider, resumeSandboxSession } from './native.js';
import { splitProgress } from './settings.js';
import { createMicrosandbox } from './provider.js';

function optionsObject(options, fn) {
  if (options == null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new MicrosandboxError('ERR_MICROSANDBOX_INVALID_SETTINGS', `${fn}() expects an options object`);
  }
  return options;
}

/** `{ identity, prepare }` (`HarnessV1SandboxTemplate`) as the core's identity and first-create setup callback. */
function templateParts(template) {
  if (template == null) return {};
  if (typeof template?.prepare !== 'function') {
    throw new MicrosandboxError(
      'ERR_MICROSANDBOX_INVALID_ARGUMENT',
      '`template` must be { identity, prepare({ session, abortSignal }) }, as `await agent.getSandboxTemplate()` returns',
    );
  }
  return {
    identity: stringArg(template.identity, 'template.identity'),
    setup: (session, { abortSignal }) => template.prepare({ session, abortSignal }),
  };
}

export async function createMicrosandboxNetworkSandboxSession(options) {
  const { sandboxId, template, abortSignal, ...settings } = optionsObject(options, 'createMicrosandboxNetworkSandboxSession');
  const [data, onProgress] = splitProgress(settings);
  const provider = callNativeSync(() => NativeProvider.forSessionFactory(plainJson(data), onProgress));
  return createSession(provider, { sessionId: sandboxId, ...templateParts(template), abortSignal });
}

/**
 * Gets `createMicrosandboxNetworkSandboxSession(options)` ready ahead of time: pulls or loads the image and
 * bootstraps `options.template`, so that the first session forks. Resolves to `{ image, templateKey, bootstrapped }`.
 */
export async function prepareMicrosandboxSandboxTemplate(options) {
  const { sandboxId, template, abortSignal, ...settings } = optionsObject(options, 'prepareMicrosandboxSandboxTemplate');
  if (sandboxId !== undefined) {
    throw new MicrosandboxError('ERR_MICROSANDBOX_INVALID_SETTINGS', '`sandboxId` names a session: prepare makes none (leave it out)');
  }
  const [data, onProgress] = splitProgress(settings);
  const provider = callNativeSync(() => NativeProvider.forSessionFactory(plainJson(data), onProgress));
  return prepareTemplate(provider, { ...templateParts(template), abortSignal });
}

export async function resumeMicrosandboxNetworkSandboxSession(options) {
  const { sandboxId, abortSignal, ...rest } = optionsObject(options, 'resumeMicrosandboxNetworkSandboxSession');
  return resumeSession(() => resumeSandboxSession(sandboxId, plainJson(rest)), abortSignal);
}

/**
 * A session on a sandbox you own (a microsandbox SDK `Sandbox`, or its name). `bridgePorts`
 * are guest ports it already publishes. Its stop() and destroy() never stop or remove your sandbox.
 */
export async function createMicrosandboxNetworkSandboxSessionFromNativeSandbox(sandbox, options) {
  const { abortSignal, ...wrap } = optionsObject(options, 'createMicrosandboxNetworkSandboxSessionFromNativeSandbox');
  return createMicrosandbox({ ...wrap, sandbox }).createSession({ abortSignal });
}
