// scripts/vmhost/run-in-vm.sh --auto, without booting a VM: kvm-probe.sh's cached answer for this
// boot (in the cache dir that AI_SDK_MICROSANDBOX_VMHOST_DIR names) decides where the command runs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const runner = join(import.meta.dirname, '../../scripts/vmhost/run-in-vm.sh');
const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A cache dir whose probe answer for this boot is `usable` (exit 0) or not (exit 1). */
function cacheWithProbeAnswer(usable: boolean, name = 'aisdk-vmhost-'): string {
  const dir = mkdtempSync(join(tmpdir(), name));
  made.push(dir);
  const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  mkdirSync(join(dir, 'kvm-probe'));
  const answer = usable ? 'usable: faked by vmhost-auto.spec' : 'not usable: faked by vmhost-auto.spec';
  writeFileSync(join(dir, 'kvm-probe', bootId), `${usable ? 0 : 1}\nkvm-probe: ${answer} (cached for this boot)\n`);
  return dir;
}

function auto(cache: string, script: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, AI_SDK_MICROSANDBOX_VMHOST_DIR: cache };
  for (const name of ['AI_SDK_MICROSANDBOX_VMHOST', 'AI_SDK_MICROSANDBOX_KVM', 'AI_SDK_MICROSANDBOX_EMULATED']) delete env[name];
  return spawnSync(runner, ['--auto', '--timeout', '60', '--', 'bash', '-c', script], { encoding: 'utf8', env });
}

describe.skipIf(process.platform !== 'linux')('run-in-vm.sh --auto', () => {
  it('runs the command directly where KVM boots microVMs: its stdout and exit code, KVM=1, not EMULATED', () => {
    const run = auto(cacheWithProbeAnswer(true), 'echo "KVM=$AI_SDK_MICROSANDBOX_KVM EMULATED=${AI_SDK_MICROSANDBOX_EMULATED-}"; exit 7');
    expect(run.stdout).toBe('KVM=1 EMULATED=\n');
    expect(run.stderr).toContain('kvm-probe: usable: faked');
    expect(run.status).toBe(7);
  });

  it('takes the VM path where KVM cannot boot microVMs (stopped here by a cache dir the VM cannot use)', () => {
    // A comma in the cache dir is refused before setup.sh or QEMU runs.
    const cache = cacheWithProbeAnswer(false, 'aisdk-vmhost,');
    const marker = join(cache, 'ran-directly');
    const run = auto(cache, `touch ${marker}`);
    expect(run.stderr).toContain('kvm-probe: not usable: faked');
    expect(run.stderr).toContain('vmhost: KVM cannot boot microVMs here: running the command inside a QEMU TCG VM');
    expect(run.stderr).toContain('the cache dir must not contain spaces or commas');
    expect(run.stdout).toBe('');
    expect(run.status).toBe(2);
    expect(existsSync(marker)).toBe(false);
  });
});
