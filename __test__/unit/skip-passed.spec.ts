// A rerun of a file whose test VM died skips the tests that already passed (passed-tests.ts,
// skip-passed.ts); run on a fixture.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const repo = join(import.meta.dirname, '../..');
const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean).sort();

it('logs each passed test; a rerun skips those and runs the rest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aisdk-skip-passed-'));
  const passedLog = join(dir, 'passed');
  const runs = join(dir, 'runs');
  const run = (failC: boolean) =>
    spawnSync(process.execPath, [join(repo, 'node_modules/vitest/vitest.mjs'), 'run', '--root', join(repo, '__test__/fixtures/skip-passed')], {
      encoding: 'utf8',
      env: { ...process.env, AI_SDK_MICROSANDBOX_TEST_PASSED_LOG: passedLog, FIXTURE_RUNS: runs, FIXTURE_FAIL_C: failC ? '1' : '0' },
    });

  expect(run(true).status).not.toBe(0);
  expect(lines(passedLog)).toEqual(['a', 'group > b']);
  expect(lines(runs)).toEqual(['a', 'b', 'c']);

  expect(run(false).status).toBe(0);
  expect(lines(passedLog)).toEqual(['a', 'group > b', 'group > inner > c']);
  // The rerun ran only c again: neither the top-level a nor b inside a describe block.
  expect(lines(runs)).toEqual(['a', 'b', 'c', 'c']);
});
