// Under emulation a failed test is retried only when a microVM triple fault explains it
// (__test__/support/emulator-retry.ts); run on a fixture test that fails its first try.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '../..');

function runFixture(tripleFault: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'aisdk-retry-'));
  const faults = join(dir, 'faults');
  writeFileSync(faults, '');
  const report = join(dir, 'report.json');
  const run = spawnSync(
    process.execPath,
    [join(repo, 'node_modules/vitest/vitest.mjs'), 'run', '--root', join(repo, '__test__/fixtures/emulator-retry'),
      '--reporter=json', `--outputFile=${report}`],
    {
      encoding: 'utf8',
      env: {
        ...process.env,
        AI_SDK_MICROSANDBOX_VMHOST_FAULTS: faults,
        FIXTURE_TRIES: join(dir, 'tries'),
        FIXTURE_TRIPLE_FAULT: tripleFault ? '1' : '0',
      },
    },
  );
  const result = JSON.parse(readFileSync(report, 'utf8')).testResults[0].assertionResults[0];
  const tries = readFileSync(join(dir, 'tries'), 'utf8').trim().split('\n').length;
  return { status: result.status, messages: result.failureMessages.join('\n'), tries, exit: run.status };
}

describe('the emulator retry gate', () => {
  it('does not retry a failure during which no microVM triple-faulted: the run fails', () => {
    const run = runFixture(false);
    expect(run.status).toBe('failed');
    expect(run.exit).not.toBe(0);
    expect(run.tries).toBe(1);
    expect(run.messages).toContain('the first try fails');
    expect(run.messages).toContain('not retried: no microVM triple fault');
  });

  it('retries a failure during which a microVM triple-faulted', () => {
    const run = runFixture(true);
    expect(run.status).toBe('passed');
    expect(run.exit).toBe(0);
    expect(run.tries).toBe(2);
  });
});
