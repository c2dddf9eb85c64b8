// `npx ai-sdk-microsandbox doctor`: what this package finds on this host, and what to fix.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostPlatform } from './platform.js';

const require = createRequire(import.meta.url);
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = require('../package.json');

function versionOf(name) {
  try {
    return require(`${name}/package.json`).version;
  } catch {
    return null;
  }
}

function msbVersion(path) {
  try {
    return execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim().replace(/^msb /, '');
  } catch {
    return null;
  }
}

/** The file binding.cjs loads first: an override, a local build, else the platform package. */
function addonPath(localAddon, addonPackage) {
  if (process.env.NAPI_RS_NATIVE_LIBRARY_PATH) return process.env.NAPI_RS_NATIVE_LIBRARY_PATH;
  if (existsSync(localAddon)) return localAddon;
  return require.resolve(addonPackage);
}

/** Which lookup found `msb`: the variables win over the npm package (lib/native.js), then the home. */
function runtimeSource(msbPath, packagedMsb) {
  if (!msbPath) return null;
  if (process.env.MSB_PATH) return 'MSB_PATH';
  if (packagedMsb && resolve(msbPath) === resolve(packagedMsb)) return 'npm package';
  return process.env.MSB_HOME ? 'MSB_HOME' : 'microsandbox home';
}

/** The addon, loaded the way `import 'ai-sdk-microsandbox'` loads it, or the coded error it threw. */
async function loadNative() {
  try {
    return { native: await import('./native.js') };
  } catch (err) {
    return { error: { code: err.code ?? 'ERR_MICROSANDBOX_INTERNAL', message: err.message } };
  }
}

/** A report as plain data (what `--json` prints); `ok` is false when something blocks microVMs. */
export async function doctor() {
  const platform = hostPlatform();
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  const addonPackage = `${pkg.name}-${platform}`;
  const localAddon = join(packageRoot, `${pkg.name}.${platform}.node`);
  const { native, error } = await loadNative();
  const report = {
    ok: false,
    versions: {
      [pkg.name]: pkg.version,
      node: process.versions.node,
      ...(versionOf(addonPackage) && { [addonPackage]: versionOf(addonPackage) }),
      '@ai-sdk/harness': versionOf('@ai-sdk/harness'),
    },
    node: { ok: nodeMajor >= 22, version: process.versions.node },
    platform,
    addon: error ? { ok: false, error } : { ok: true, path: addonPath(localAddon, addonPackage) },
    runtime: null,
    host: null,
    dirs: { msbHome: null, cache: null },
    problems: [],
  };
  if (!report.node.ok) {
    report.problems.push({
      headline: `Node ${process.versions.node} is older than 22`,
      hints: ['@ai-sdk/harness and the runtime package need Node >= 22; npm on an older Node skips the runtime'],
    });
  }
  if (error) {
    report.problems.push({ headline: `the native addon did not load (${error.code})`, hints: [error.message] });
    return report;
  }

  const host = native.hostReport();
  const check = (label) => host.checks.find((c) => c.label === label);
  const msbPath = check('msb')?.state === 'pass' ? check('msb').value : null;
  const sdkVersion = check('Version')?.value.replace(/^v/, '') ?? null;
  const runtimeVersion = msbPath && msbVersion(msbPath);
  report.versions.microsandbox = sdkVersion;
  report.versions.msb = runtimeVersion;
  report.runtime = {
    ok: Boolean(msbPath) && check('libkrunfw')?.state === 'pass' && runtimeVersion === sdkVersion,
    msb: msbPath,
    libkrunfw: check('libkrunfw')?.value ?? null,
    version: runtimeVersion,
    source: runtimeSource(msbPath, native.packagedMsbPath()),
  };
  report.host = { checks: host.checks.filter((c) => c.section !== 'Runtime') };
  report.dirs = { msbHome: check('MSB_HOME')?.value ?? null, cache: host.cacheDir };
  report.problems.push(...host.problems);
  if (msbPath && runtimeVersion !== sdkVersion) {
    report.problems.push({
      headline: `the runtime at ${msbPath} is msb ${runtimeVersion ?? '(unknown version)'}, not ${sdkVersion}`,
      hints: ['the addon accepts only a runtime of its own microsandbox version: fix or unset MSB_PATH / MSB_HOME'],
    });
  }
  report.ok = report.problems.length === 0;
  return report;
}

/** The vmhost scripts exist only in a clone of this repository, not in the published package. */
function inRepository() {
  return existsSync(join(packageRoot, 'scripts', 'vmhost', 'run-in-vm.sh'));
}

const mark = (ok) => (ok ? '✓' : '✗');

/** The report for a person. */
export function formatDoctor(report) {
  const lines = [`${pkg.name} ${pkg.version}: doctor`, ''];
  const row = (ok, label, value) => lines.push(`  ${ok === null ? '·' : mark(ok)} ${label.padEnd(12)} ${value}`);
  row(report.node.ok, 'node', `v${report.node.version}${report.node.ok ? '' : ' (needs >= 22)'}`);
  row(report.addon.ok, 'addon', report.addon.ok ? `${report.platform}: ${report.addon.path}` : report.addon.error.code);
  if (report.runtime) {
    const { msb, libkrunfw, version, source } = report.runtime;
    row(report.runtime.ok, 'runtime', msb ? `msb ${version ?? '?'} at ${msb} (${source})` : 'not found');
    row(report.runtime.ok, 'libkrunfw', libkrunfw ?? 'not found');
  }
  for (const c of report.host?.checks ?? []) {
    row(c.state === 'info' ? null : c.state !== 'fail', c.label, c.value);
  }
  lines.push('', '  versions:', ...Object.entries(report.versions).map(([k, v]) => `    ${k} ${v ?? '(not found)'}`));
  lines.push('  state:');
  lines.push(`    microsandbox (images, sandboxes): ${report.dirs.msbHome ?? '(unknown)'}`);
  lines.push(`    ${pkg.name} (sessions, port leases, templates): ${report.dirs.cache ?? '(unknown)'}`);
  lines.push('');
  if (report.ok) {
    lines.push('✓ microsandbox can run microVMs here, as far as these checks tell: createSession() will say if not.');
    if (inRepository()) lines.push('  scripts/vmhost/kvm-probe.sh boots one to be sure.');
    return lines.join('\n');
  }
  const hostBlocked = report.host && report.problems.some((p) => /virtuali[sz]ation|KVM/i.test(p.headline));
  lines.push(hostBlocked ? '✗ microVMs cannot boot directly on this host:' : '✗ to fix:');
  for (const p of report.problems) {
    lines.push(`  - ${p.headline}`, ...p.hints.map((h) => `      → ${h}`));
  }
  if (hostBlocked && inRepository()) {
    lines.push(
      '',
      '  In this repository, scripts/vmhost is the way: it runs commands in a QEMU VM where microVMs boot.',
      '  `npm test` and `npm run demo` use it by themselves; `scripts/vmhost/run-in-vm.sh -- <command>` runs any',
      '  other command there (slow, emulated: for tests, not for production).',
    );
  }
  return lines.join('\n');
}
