export { createMicrosandbox } from './lib/provider.js';
export { MicrosandboxError } from './lib/errors.js';
export {
  createMicrosandboxNetworkSandboxSession,
  createMicrosandboxNetworkSandboxSessionFromNativeSandbox,
  prepareMicrosandboxSandboxTemplate,
  resumeMicrosandboxNetworkSandboxSession,
} from './lib/session-factories.js';
