// Benchmark (not a test): our session against the raw microsandbox SDK, in the
// same microVM in the same run, so emulation speed cancels out in the ratios.
// Each round boots a fresh microVM and measures ours and the raw SDK on it, in turns.
// Run with `npm run bench`.
import { execFileSync } from 'node:child_process';
import { createMicrosandbox } from 'ai-sdk-microsandbox';

const [image, rawBench] = process.argv.slice(2);
const ROUNDS = 4;
const RUNS = 10;
const FILE_MIB = 64;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function timed(fn) {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

async function round(data, rawFirst) {
  const session = await createMicrosandbox({ image, memory: 1024 }).createSession();
  const rawRun = () => JSON.parse(execFileSync(rawBench, [session.id, String(RUNS), String(FILE_MIB)], { encoding: 'utf8' }));
  try {
    // Alternating who goes first cancels the order effect (a fresh guest warms up).
    const rawBefore = rawFirst ? rawRun() : undefined;
    const runs = [];
    for (let i = 0; i < RUNS + 3; i++) {
      const ms = await timed(() => session.run({ command: 'true' }));
      if (i >= 3) runs.push(ms);
    }
    const file = await timed(async () => {
      await session.writeBinaryFile({ path: '/tmp/bench.bin', content: data });
      const back = await session.readBinaryFile({ path: '/tmp/bench.bin' });
      if (back.byteLength !== data.byteLength) throw new Error('short read');
    });
    await session.run({ command: 'rm -f /tmp/bench.bin' });
    return { runTrueMs: median(runs), fileWriteReadMs: file, raw: rawBefore ?? rawRun() };
  } finally {
    await session.destroy();
  }
}

const data = new Uint8Array(FILE_MIB * 1024 * 1024).fill(7);
const rounds = [];
for (let i = 0; i < ROUNDS; i++) {
  try {
    const r = await round(data, i % 2 === 1);
    console.error(`bench: round ${i + 1}: ours ${r.runTrueMs.toFixed(1)} ms / ${r.fileWriteReadMs.toFixed(0)} ms, raw ${r.raw.execBashTrueMs} ms / ${r.raw.fileWriteReadMs} ms`);
    rounds.push(r);
  } catch (err) {
    // Under nested emulation a microVM occasionally dies under sustained I/O; its round is dropped.
    console.error(`bench: round ${i + 1} lost: ${err.message}`);
  }
}
if (rounds.length === 0) throw new Error('no round completed');

const col = (pick) => median(rounds.map(pick));
const row = (what, a, b) => console.log(`${what.padEnd(44)} ${a.toFixed(1).padStart(9)} ${b.toFixed(1).padStart(9)} ${(a / b).toFixed(2).padStart(7)}x`);
console.log(`${`median of ${rounds.length} rounds, ms`.padEnd(44)} ${'ours'.padStart(9)} ${'raw SDK'.padStart(9)} ${'ratio'.padStart(8)}`);
row("run('true') vs exec bash -c true", col((r) => r.runTrueMs), col((r) => r.raw.execBashTrueMs));
row("run('true') vs exec true (no shell)", col((r) => r.runTrueMs), col((r) => r.raw.execTrueMs));
row(`${FILE_MIB} MiB writeBinaryFile + readBinaryFile`, col((r) => r.fileWriteReadMs), col((r) => r.raw.fileWriteReadMs));
