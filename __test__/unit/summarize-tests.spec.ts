// The one line CI reads (scripts/summarize-tests.mjs): a test passed in any attempt of a rerun file
// counts once, and a file whose every attempt died still counts what passed and one failure.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const script = join(import.meta.dirname, '../../scripts/summarize-tests.mjs');
const report = (passed: number, failed: number) => JSON.stringify({ numPassedTests: passed, numFailedTests: failed, numFailedTestSuites: 0 });

it('counts the passed-test logs of rerun files, and a crashed file as one failure plus what passed before', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aisdk-summary-'));
  writeFileSync(join(dir, 'unit.json'), report(4, 0));
  // Rerun once: its last attempt passed 1 and skipped the 2 that passed before; a retried pass is logged once per attempt.
  writeFileSync(join(dir, 'integration-a.json'), report(1, 0));
  writeFileSync(join(dir, 'integration-a.passed'), 'x\ny\ny\nz\n');
  // Every attempt died: no report.
  writeFileSync(join(dir, 'integration-b.failed'), '');
  writeFileSync(join(dir, 'integration-b.passed'), 'p\nq\n');
  const run = spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });
  expect(run.stdout.trim()).toBe('9 passed, 1 failed');
  expect(run.status).toBe(1);
});
