// Host memory while a guest floods run() with output: peak RSS of this process during
// `run()` of N MiB on stdout, against its RSS before. Usage: node bench/run-flood-rss.mjs <image> [MiB]
import { createMicrosandbox } from '../index.js';

const [image, mib = '256'] = process.argv.slice(2);
const session = await createMicrosandbox({ image, memory: 1024 }).createSession();
try {
  await session.run({ command: 'true' });
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  const started = Date.now();
  const { exitCode, stdout } = await session.run({ command: `head -c ${Number(mib) * 1048576} /dev/zero | tr '\\0' x` });
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const MiB = (n) => (n / 1048576).toFixed(0);
  console.log(
    `run() of ${mib} MiB: exit ${exitCode}, ${stdout.length} chars kept, ${Date.now() - started} ms; ` +
      `host RSS ${MiB(before)} MiB before, peak ${MiB(peak)} MiB (+${MiB(peak - before)} MiB)`,
  );
} finally {
  await session.destroy();
}
