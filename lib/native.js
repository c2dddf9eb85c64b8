// Loads the native addon and points it at the microsandbox runtime that the
// npm package @superradcompany/microsandbox-<platform> ships (msb + libkrunfw).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { bindingLoadError } from './platform.js';

const require = createRequire(import.meta.url);

function loadBinding() {
  try {
    return require('../binding.cjs');
  } catch (err) {
    throw bindingLoadError(err);
  }
}

const binding = loadBinding();

const RUNTIME_PACKAGES = {
  'linux-x64': '@superradcompany/microsandbox-linux-x64-gnu',
  'linux-arm64': '@superradcompany/microsandbox-linux-arm64-gnu',
  'darwin-arm64': '@superradcompany/microsandbox-darwin-arm64',
};

export function packagedMsbPath() {
  const pkg = RUNTIME_PACKAGES[`${process.platform}-${process.arch}`];
  if (!pkg) return null;
  try {
    return join(dirname(require.resolve(`${pkg}/package.json`)), 'bin', 'msb');
  } catch {
    return null;
  }
}

binding.configureRuntime(packagedMsbPath());

export const { NativeProvider, hostReport, resumeSandboxSession } = binding;

/** What the CLI's ls / rm / prune operate on. */
export const state = {
  listState: binding.listState,
  removeSessionById: binding.removeSessionById,
  sessionLogs: binding.sessionLogs,
  pruneState: binding.pruneState,
};
