// Facts the test runner (scripts/test.sh) passes to the suites.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Set by scripts/test.sh from scripts/vmhost/kvm-probe.sh: microVMs really boot here. */
export function kvmUsable(): boolean {
  return process.env.AI_SDK_MICROSANDBOX_KVM === '1';
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the integration tests with \`npm run test:integration\``);
  return value;
}

/** Debian + bash + coreutils + git + Node 22 + pnpm 10, as a docker-save tarball (scripts/images). */
export const harnessImage = () => required('AI_SDK_MICROSANDBOX_TEST_HARNESS_IMAGE');
/** A tiny busybox image, as a docker-save tarball (scripts/images). */
export const busyboxImage = () => required('AI_SDK_MICROSANDBOX_TEST_BUSYBOX_IMAGE');

const require = createRequire(import.meta.url);
const msb = join(dirname(require.resolve('@superradcompany/microsandbox-linux-x64-gnu/package.json')), 'bin', 'msb');

/** Every sandbox the runtime knows, as `msb list` reports it. */
function msbList(): Array<{ name: string; status?: string }> {
  const parsed = JSON.parse(execFileSync(msb, ['list', '--format', 'json'], { encoding: 'utf8' }) || '[]');
  return Array.isArray(parsed) ? parsed : (parsed.sandboxes ?? []);
}

/** The runtime's status of a sandbox (`running`, `stopped`, ...), or null once it is gone. */
export function sandboxStatus(name: string): string | null {
  const row = msbList().find((r) => r.name === name);
  return row ? String(row.status ?? 'unknown').toLowerCase() : null;
}

/** Names of the sandboxes this package created (cold or forked) that the runtime still knows. */
export function ourSandboxes(): string[] {
  return msbList()
    .map((r) => r.name)
    .filter((name) => name.startsWith('aisdk-'))
    .sort();
}

/** This package's state for sandboxes whose name contains `fragment`: session records and port leases. */
export function cacheStateFor(fragment: string): string[] {
  const root = process.env.AI_SDK_MICROSANDBOX_CACHE_DIR || join(homedir(), '.cache', 'ai-sdk-microsandbox');
  const found: string[] = [];
  for (const [dir, byContent] of [['sessions', false], ['ports', true]] as const) {
    let names: string[] = [];
    try {
      names = readdirSync(join(root, dir));
    } catch {
      continue;
    }
    for (const name of names) {
      const text = byContent ? readFileSync(join(root, dir, name), 'utf8') : name;
      if (text.includes(fragment)) found.push(`${dir}/${name}`);
    }
  }
  return found;
}
