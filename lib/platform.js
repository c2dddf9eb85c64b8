// Which prebuilt addon package serves this host, and the coded error for when
// none loads (napi's loader only says "Cannot find native binding").
import { createRequire } from 'node:module';
import { MicrosandboxError } from './errors.js';

const require = createRequire(import.meta.url);
const { name, version } = require('../package.json');

/**
 * napi target triple -> platform suffix of its package (`<name>-<suffix>`), for the triples in
 * package.json `napi.targets`; a unit test keeps the two in step.
 */
export const TARGET_PLATFORMS = {
  'x86_64-unknown-linux-gnu': 'linux-x64-gnu',
  'aarch64-unknown-linux-gnu': 'linux-arm64-gnu',
  'aarch64-apple-darwin': 'darwin-arm64',
};

function isMusl() {
  // glibc reports its version in the process report header; musl does not. Network details
  // (which can mean slow lookups) are not needed, as in napi's loader.
  if (!process.report) return false;
  process.report.excludeNetwork = true;
  return !process.report.getReport().header?.glibcVersionRuntime;
}

/** This host as a platform suffix, e.g. `linux-x64-gnu`, `linux-x64-musl`, `darwin-arm64`, `win32-x64`. */
export function hostPlatform() {
  const base = `${process.platform}-${process.arch}`;
  if (process.platform !== 'linux') return base;
  return `${base}-${isMusl() ? 'musl' : 'gnu'}`;
}

/** The error to throw when `binding.cjs` found no loadable addon; `loadError` becomes its `cause`. */
export function bindingLoadError(loadError, platform = hostPlatform()) {
  const supported = Object.values(TARGET_PLATFORMS);
  if (!supported.includes(platform)) {
    return new MicrosandboxError(
      'ERR_MICROSANDBOX_UNSUPPORTED_PLATFORM',
      `${name} has no native addon for ${platform}: it is built for ${supported.join(', ')}. ` +
        'microsandbox microVMs need Linux (glibc) with KVM, or macOS on Apple silicon: run it on one of those.',
      { cause: loadError },
    );
  }
  const pkg = `${name}-${platform}`;
  let installed = null;
  try {
    installed = require(`${pkg}/package.json`).version;
  } catch {
    // Not installed: the common case handled below.
  }
  const fix =
    installed === null
      ? `the package ${pkg}@${version} is not installed. Reinstall with Node >= 22 and without ` +
        '--omit=optional / --no-optional (npm on an older Node silently skips it), e.g. ' +
        '`rm -rf node_modules package-lock.json && npm install`; or, in a clone, build it with `npm run build`.'
      : `${pkg}@${installed} is installed but did not load (see cause)` +
        (installed === version ? '' : `, and ${name}@${version} needs ${pkg}@${version}`) +
        '. Reinstall both at the same version.';
  return new MicrosandboxError(
    'ERR_MICROSANDBOX_BINDING_MISSING',
    `${name} could not load its native addon for ${platform}: ${fix}`,
    { cause: loadError },
  );
}
