// `npx ai-sdk-microsandbox doctor`, run as a user runs it: the bin in a child process.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const bin = join(root, pkg.bin['ai-sdk-microsandbox']);

// Run as `npx` runs it, with node, also under `bun test`.
const nodeBin = process.versions.bun ? 'node' : process.execPath;

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(nodeBin, [bin, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('ai-sdk-microsandbox doctor', () => {
  it('--json reports versions, the addon, the runtime and where state lives', () => {
    const { stdout } = cli(['doctor', '--json'], {
      AI_SDK_MICROSANDBOX_CACHE_DIR: '/tmp/doctor-cache',
      MSB_HOME: '/tmp/doctor-msb-home',
    });
    const report = JSON.parse(stdout);
    expect(report.versions[pkg.name]).toBe(pkg.version);
    expect(report.versions.microsandbox).toBe('0.7.2');
    expect(report.addon.ok).toBe(true);
    expect(report.dirs).toEqual({ cache: '/tmp/doctor-cache', msbHome: '/tmp/doctor-msb-home' });
    expect(typeof report.ok).toBe('boolean');
  });

  it.skipIf(process.platform !== 'linux' || process.arch !== 'x64')('finds msb 0.7.2 from the npm runtime package', () => {
    const report = JSON.parse(cli(['doctor', '--json']).stdout);
    expect(report.runtime).toMatchObject({ ok: true, version: '0.7.2', source: 'npm package' });
  });

  it('a missing MSB_PATH runtime is reported as a problem', () => {
    const { status, stdout } = cli(['doctor', '--json'], { MSB_PATH: '/nonexistent/msb' });
    const report = JSON.parse(stdout);
    expect(status).toBe(1);
    expect(report.runtime.ok).toBe(false);
    expect(report.problems.map((p: { headline: string }) => p.headline).join('\n')).toMatch(/runtime/);
  });

  // scripts/test.sh sets AI_SDK_MICROSANDBOX_KVM=0 where microVMs cannot boot (our machines).
  it.skipIf(process.env.AI_SDK_MICROSANDBOX_KVM !== '0')(
    'where microVMs cannot boot, it says so and points at scripts/vmhost',
    () => {
      const { status, stdout } = cli(['doctor']);
      expect(status).toBe(1);
      expect(stdout).toContain('microVMs cannot boot directly on this host');
      expect(stdout).toContain('scripts/vmhost/run-in-vm.sh');
    },
  );

  it('bad input: a coded error and the usage, exit status 2', () => {
    const unknown = cli(['doctr']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('ERR_MICROSANDBOX_INVALID_ARGUMENT: unknown command "doctr"');
    expect(unknown.stderr).toContain('usage: ai-sdk-microsandbox <command> [--json]');
    const json = cli(['doctor', 'extra', '--json']);
    expect(json.status).toBe(2);
    expect(JSON.parse(json.stdout).error.code).toBe('ERR_MICROSANDBOX_INVALID_ARGUMENT');
  });
});
