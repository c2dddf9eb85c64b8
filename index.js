export { createMicrosandbox } from './lib/provider.js';
export { MicrosandboxError } from './lib/errors.js';
