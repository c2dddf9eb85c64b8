// Benchmark (not a test): our session against the raw microsandbox SDK, in the
// same microVM in the same run, so emulation speed cancels out in the ratios.
// Run with `npm run bench`.
import { execFileSync } from 'node:child_process';
import { createMicrosandbox } from 'ai-sdk-microsandbox';

const [image, rawBench] = process.argv.slice(2);
const ITERATIONS = 10;
const FILE_MIB = 64;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function timed(fn) {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

const session = await createMicrosandbox({ image, memory: 1024 }).createSession();
try {
  const run = [];
  for (let i = 0; i < ITERATIONS + 3; i++) {
    const ms = await timed(() => session.run({ command: 'true' }));
    if (i >= 3) run.push(ms);
  }
  const data = new Uint8Array(FILE_MIB * 1024 * 1024).fill(7);
  const file = [];
  for (let i = 0; i < 3; i++) {
    file.push(
      await timed(async () => {
        await session.writeBinaryFile({ path: '/tmp/bench.bin', content: data });
        const back = await session.readBinaryFile({ path: '/tmp/bench.bin' });
        if (back.byteLength !== data.byteLength) throw new Error('short read');
      }),
    );
  }
  const ours = { runTrueMs: median(run), fileWriteReadMs: median(file) };
  console.error('bench: measured ours; now the raw SDK');
  const raw = JSON.parse(execFileSync(rawBench, [session.id, String(ITERATIONS), String(FILE_MIB)], { encoding: 'utf8' }));

  const row = (what, a, b) => console.log(`${what.padEnd(44)} ${a.toFixed(1).padStart(9)} ${b.toFixed(1).padStart(9)} ${(a / b).toFixed(2).padStart(7)}x`);
  console.log(`${'median of repeated runs, ms'.padEnd(44)} ${'ours'.padStart(9)} ${'raw SDK'.padStart(9)} ${'ratio'.padStart(8)}`);
  row("run('true') vs exec bash -c true", ours.runTrueMs, raw.execBashTrueMs);
  row("run('true') vs exec true (no shell)", ours.runTrueMs, raw.execTrueMs);
  row(`${FILE_MIB} MiB writeBinaryFile + readBinaryFile`, ours.fileWriteReadMs, raw.fileWriteReadMs);
} finally {
  await session.destroy();
}
