// A file whose test VM died is run again in a new one (scripts/test.sh). What had already passed
// need not run again: the reporter logs each passed test's full name as it passes, to a file on the
// host that outlives the test VM, and the setup file (skip-passed.ts) skips the logged ones in the rerun.
import { appendFileSync, readFileSync } from 'node:fs';
import type { RunnerTask } from 'vitest';
import type { Reporter, TestCase } from 'vitest/node';

/** Set by scripts/test.sh per integration file; unset, nothing is logged or skipped. */
const logPath = () => process.env.AI_SDK_MICROSANDBOX_TEST_PASSED_LOG;

/** The names of the tests an earlier run of this file logged as passed. */
export function passedEarlier(path = logPath()): Set<string> {
  if (!path) return new Set();
  try {
    return new Set(readFileSync(path, 'utf8').split('\n').filter(Boolean));
  } catch {
    return new Set();
  }
}

/** vitest's `TestCase.fullName` for a runner task: its describe blocks' names and its own, joined
 * by ' > ' (a top-level test's suite is its file; a top-level describe block has none). */
export function fullName(task: RunnerTask): string {
  const names = [task.name];
  for (let suite = task.suite; suite && suite !== task.file; suite = suite.suite) names.unshift(suite.name);
  return names.join(' > ');
}

export default class PassedTestsReporter implements Reporter {
  onTestCaseResult(test: TestCase) {
    const path = logPath();
    // Skipped in a rerun because it passed earlier: already logged.
    if (path && test.result().state === 'passed') appendFileSync(path, `${test.fullName}\n`);
  }
}
