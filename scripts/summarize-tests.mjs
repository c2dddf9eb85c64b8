// Sums cargo test and vitest JSON results into the one line CI reads.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
let passed = 0;
let failed = 0;

/** Tests of one integration file that passed in any of its runs (scripts/test.sh reruns a file whose
 * test VM died; a rerun skips what had passed): logged by __test__/support/passed-tests.ts. */
const passedLog = (name) => {
  const log = join(dir, `${name}.passed`);
  return existsSync(log) ? new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean)).size : undefined;
};

const cargoLog = join(dir, 'cargo.log');
if (existsSync(cargoLog)) {
  for (const m of readFileSync(cargoLog, 'utf8').matchAll(/test result: \w+\. (\d+) passed; (\d+) failed/g)) {
    passed += Number(m[1]);
    failed += Number(m[2]);
  }
}
for (const file of readdirSync(dir)) {
  const name = file.replace(/\.(json|failed)$/, '');
  if (file.endsWith('.json')) {
    const report = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    passed += passedLog(name) ?? report.numPassedTests;
    failed += report.numFailedTests;
    // A file that failed to load has no failed test but must count.
    if (report.numFailedTestSuites > 0 && report.numFailedTests === 0) failed += 1;
  } else if (file.endsWith('.failed') && !existsSync(join(dir, `${name}.json`))) {
    // A run that crashed before writing its report: what passed before the crash still counts.
    passed += passedLog(name) ?? 0;
    failed += 1;
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
