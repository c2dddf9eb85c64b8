// Setup file: in a rerun of a file whose test VM died, tests that already passed are skipped
// (passed-tests.ts logs them), unless the file's tests build on each other.
import { beforeEach } from 'vitest';
import { fullName, passedEarlier } from './passed-tests.js';

const passed = passedEarlier();
let everyTest = false;

/** For a file whose tests need the earlier ones' state: a rerun runs all of them again. */
export function rerunEveryTest() {
  everyTest = true;
}

beforeEach((ctx) => {
  if (!everyTest && passed.has(fullName(ctx.task))) ctx.skip('passed in an earlier run of this file, before its test VM died');
});
