// Benchmark (not a test): a session forked from a bootstrap template against a
// cold create from the image, and a warm-pool handover against one run('true')
// round trip, in the same run. Run with `npm run bench`.
import { randomUUID } from 'node:crypto';
import { createMicrosandbox } from 'ai-sdk-microsandbox';

const [image] = process.argv.slice(2);
const provider = createMicrosandbox({ image, memory: 1024 });
const identity = `bench-${randomUUID()}`;
// A stand-in for a real bootstrap (a pnpm install of an agent takes minutes): writing 50 MB of files.
const onFirstCreate = (s) => s.run({ command: 'mkdir -p /opt/tools && head -c 50000000 /dev/zero > /opt/tools/blob && sync' });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function time(fn) {
  const started = performance.now();
  const session = await fn();
  const ms = performance.now() - started;
  await session.destroy();
  return ms;
}

// Warm-up: the first create of a process also hashes and loads the image tarball.
await time(() => provider.createSession());
const cold = [await time(() => provider.createSession()), await time(() => provider.createSession())];
const coldWithSetup = await time(async () => {
  const s = await provider.createSession();
  await onFirstCreate(s);
  return s;
});
const firstOfIdentity = await time(() => provider.createSession({ identity, onFirstCreate }));
const forks = [];
for (let i = 0; i < 3; i++) forks.push(await time(() => provider.createSession({ identity, onFirstCreate })));

// Warm pool: a create with a sessionId takes a fork that is already running.
const pooled = createMicrosandbox({ image, memory: 1024, warmPool: { size: 1 } });
const handovers = [];
const roundTrips = [];
await (await pooled.createSession({ sessionId: randomUUID(), identity, onFirstCreate })).destroy();
for (let i = 0; i < 3; i++) {
  while (pooled.warmPoolStatus().ready < 1) await new Promise((r) => setTimeout(r, 200));
  const started = performance.now();
  const session = await pooled.createSession({ sessionId: randomUUID(), identity, onFirstCreate });
  handovers.push(performance.now() - started);
  const before = performance.now();
  await session.run({ command: 'true' });
  roundTrips.push(performance.now() - before);
  await session.destroy();
}
await pooled.close();
await provider.prune({ keepNewest: 0, keepUsedWithinMs: 0 });

const fmt = (ms) => `${(ms / 1000).toFixed(1)} s`;
console.log(`cold create (image -> ready), median of 2:        ${fmt(median(cold))}`);
console.log(`cold create + the bootstrap work:                  ${fmt(coldWithSetup)}`);
console.log(`first session of an identity (bootstrap+snapshot): ${fmt(firstOfIdentity)}`);
console.log(`fork from the template, median of 3:               ${fmt(median(forks))}`);
console.log(`fork speed-up vs cold create + bootstrap: ${(coldWithSetup / median(forks)).toFixed(2)}x; vs bare cold create: ${(median(cold) / median(forks)).toFixed(2)}x`);
console.log(`warm pool handover, median of 3: ${median(handovers).toFixed(0)} ms; one run('true') in it: ${median(roundTrips).toFixed(0)} ms; ratio ${(median(handovers) / median(roundTrips)).toFixed(2)}x`);
