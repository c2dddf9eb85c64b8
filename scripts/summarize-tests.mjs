// Sums cargo test and vitest JSON results into the one line CI reads.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
let passed = 0;
let failed = 0;

const cargoLog = join(dir, 'cargo.log');
if (existsSync(cargoLog)) {
  for (const m of readFileSync(cargoLog, 'utf8').matchAll(/test result: \w+\. (\d+) passed; (\d+) failed/g)) {
    passed += Number(m[1]);
    failed += Number(m[2]);
  }
}
for (const suite of ['unit', 'integration']) {
  const file = join(dir, `${suite}.json`);
  if (!existsSync(file)) continue;
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests;
  // A file that failed to load counts as a failure too.
  failed += report.numFailedTests + (report.numFailedTestSuites && !report.numFailedTests ? 1 : 0);
}
for (const marker of ['unit.failed', 'integration.failed']) {
  // A suite that crashed before writing its report.
  if (existsSync(join(dir, marker)) && !existsSync(join(dir, marker.replace('.failed', '.json')))) failed += 1;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
