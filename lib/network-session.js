// The harness HarnessV1NetworkSandboxSession: identity, ports and lifecycle on
// top of the command/file session.
import { callNative, callNativeSync } from './errors.js';
import { dataArg } from './args.js';
import { MicrosandboxSandboxSession, nativeOf } from './session.js';

export class MicrosandboxNetworkSandboxSession extends MicrosandboxSandboxSession {
  constructor(nativeSession) {
    super(nativeSession);
    // Adapters broker credentials only when these exist (`'addRequestTransformations' in session`);
    // a session that cannot does not have them, so they fall back to forwarding the key.
    if (nativeSession.brokersCredentials) {
      this.setRequestTransformations = (rules) => callNative(() => nativeSession.setRequestTransformations(dataArg(rules, 'rules') ?? null, true));
      this.addRequestTransformations = (rules) => callNative(() => nativeSession.setRequestTransformations(dataArg(rules, 'rules') ?? null, false));
    }
  }

  get id() {
    return nativeOf(this).id;
  }

  get defaultWorkingDirectory() {
    return nativeOf(this).defaultWorkingDirectory;
  }

  get ports() {
    return nativeOf(this).ports;
  }

  async getPortEndpoint({ port, protocol = 'http' }) {
    return { url: callNativeSync(() => nativeOf(this).portUrl(port, protocol)) };
  }

  async getPortUrl(options) {
    return (await this.getPortEndpoint(options)).url;
  }

  /** An overlay workspace's changes against the host directory: `{ diff, files }`. */
  async getWorkspaceChanges() {
    return callNative(() => nativeOf(this).workspaceChanges());
  }

  /** Writes reviewed changes (a `getWorkspaceChanges()` result) to the host directory. */
  async applyWorkspaceChanges(changes) {
    const applied = await callNative(() => nativeOf(this).applyWorkspaceChanges(dataArg(changes, 'changes') ?? null));
    return { applied };
  }

  async stop() {
    await callNative(() => nativeOf(this).stop());
  }

  async destroy() {
    await callNative(() => nativeOf(this).destroy());
  }

  restricted() {
    return new MicrosandboxSandboxSession(nativeOf(this));
  }
}
