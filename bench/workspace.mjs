// Benchmark (not a test) for workspaces (issue #24): a forked create with a workspace against one
// without (mount and overlay, alternating who goes first in each round), and an overlay's
// getWorkspaceChanges / applyWorkspaceChanges on a 1,000-file repository, against a run('true')
// round trip in the same session. Usage: node bench/workspace.mjs <image tarball>
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

process.env.AI_SDK_MICROSANDBOX_CACHE_DIR = mkdtempSync(join(tmpdir(), 'aisdk-bench-ws-'));
const { createMicrosandboxNetworkSandboxSession } = await import('ai-sdk-microsandbox');

const [image] = process.argv.slice(2);
const ROUNDS = 3;
const FILES = 1000;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const timed = async (fn) => {
  const t = performance.now();
  const value = await fn();
  return [performance.now() - t, value];
};
const log = (m) => console.error(`bench: ${m}`);

// A repository of 1,000 small files in 20 directories.
const repo = mkdtempSync(join(tmpdir(), 'aisdk-bench-repo-'));
for (let i = 0; i < FILES; i++) {
  const dir = join(repo, `pkg${i % 20}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `file${i}.js`), `export const value${i} = ${i};\n`.repeat(20));
}

const template = { identity: `bench-ws-${randomUUID()}`, prepare: async () => {} };
const create = (mode) =>
  createMicrosandboxNetworkSandboxSession({ image, template, ...(mode ? { workspace: { path: repo, mode } } : {}) });
// Every template of the three configurations bootstrapped before anything is timed.
for (const mode of [undefined, 'mount', 'overlay']) await (await create(mode)).destroy();

const forks = { none: [], mount: [], overlay: [] };
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? ['none', 'mount', 'overlay'] : ['overlay', 'mount', 'none'];
  for (const mode of order) {
    const [ms, s] = await timed(async () => {
      const s = await create(mode === 'none' ? undefined : mode);
      await s.run({ command: 'true' });
      return s;
    });
    await s.destroy();
    forks[mode].push(ms);
  }
  log(`round ${round + 1}: ${Object.entries(forks).map(([m, xs]) => `${m} ${xs.at(-1).toFixed(0)} ms`).join(', ')}`);
}

const session = await create('overlay');
const diffs = {};
try {
  const trips = [];
  for (let i = 0; i < 10; i++) trips.push((await timed(() => session.run({ command: 'true' })))[0]);
  diffs.runTrue = median(trips);
  [diffs.unchanged] = await timed(() => session.getWorkspaceChanges());
  await session.run({ command: 'for d in pkg0 pkg1 pkg2 pkg3 pkg4 pkg5 pkg6 pkg7 pkg8 pkg9; do echo "// edited" >> $(ls $d/*.js | head -1); done' });
  let changes;
  [diffs.ten, changes] = await timed(() => session.getWorkspaceChanges());
  if (changes.files.length !== 10) throw new Error(`expected 10 changed files, got ${changes.files.length}`);
  await session.run({ command: 'for f in pkg*/*.js; do echo "// edited" >> "$f"; done' });
  [diffs.all, changes] = await timed(() => session.getWorkspaceChanges());
  if (changes.files.length !== FILES) throw new Error(`expected ${FILES} changed files, got ${changes.files.length}`);
  [diffs.applyAll] = await timed(() => session.applyWorkspaceChanges(changes));
} finally {
  await session.destroy();
}

const m = Object.fromEntries(Object.entries(forks).map(([k, xs]) => [k, median(xs)]));
const results = {
  forkedCreateMs: m,
  mountVsNone: m.mount / m.none,
  overlayVsNone: m.overlay / m.none,
  overlayMs: diffs,
  diffAllInRoundTrips: diffs.all / diffs.runTrue,
};
console.log(JSON.stringify(results, null, 2));
