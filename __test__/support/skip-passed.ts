// Setup file: in a rerun of a file whose test VM died, tests that already passed are skipped
// (passed-tests.ts logs them). A test that continues an earlier test's state must not rely on it
// having run in the same attempt.
import { beforeEach } from 'vitest';
import { fullName, passedEarlier } from './passed-tests.js';

const passed = passedEarlier();

beforeEach((ctx) => {
  if (passed.has(fullName(ctx.task))) ctx.skip('passed in an earlier run of this file, before its test VM died');
});
