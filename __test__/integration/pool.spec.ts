// The warm pool (issue #13): microVMs booted ahead of creates with a sessionId.
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createMicrosandbox, type MicrosandboxProgressEvent, type MicrosandboxProvider } from '../../index.js';
import { cacheStateFor, harnessImage, ourSandboxes, sandboxStatus } from '../support/env.js';

const child = join(import.meta.dirname, '../support/child.mjs');
const run = promisify(execFile);
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function poolReady(provider: MicrosandboxProvider, timeoutMs = 300_000) {
  const started = Date.now();
  while (provider.warmPoolStatus()!.ready < 1) {
    if (Date.now() - started > timeoutMs) throw new Error(`the warm pool did not fill in ${timeoutMs} ms`);
    await sleep(250);
  }
}

/** Pool microVMs have anonymous names; the ones that appeared since `before`, minus `known`. */
const newAnonymous = (before: string[], ...known: string[]) =>
  ourSandboxes().filter((n) => n.startsWith('aisdk-anon-') && !before.includes(n) && !known.includes(n));

// The first create of a test VM may load the 612 MB harness image (about 17 minutes under emulation).
describe('warm pool', { timeout: 1_500_000 }, () => {
  it('hands a warm fork to a create with a sessionId, which then behaves as one created for it; a new template replaces the pool; close() removes what waits', async () => {
    const before = ourSandboxes();
    const identity = `pool-${randomUUID()}`;
    const [idA, idB, idC] = [`pool-a-${randomUUID()}`, `pool-b-${randomUUID()}`, `pool-c-${randomUUID()}`];
    let bootstraps = 0;
    const onFirstCreate = async (s: { writeTextFile: (o: { path: string; content: string }) => Promise<void> }) => {
      bootstraps++;
      await s.writeTextFile({ path: '/opt/pool-base', content: 'bootstrapped' });
    };
    const events: MicrosandboxProgressEvent[] = [];
    const started = Date.now();
    const provider = createMicrosandbox({
      image: harnessImage(),
      ports: [{ host: 4000, guest: 4000 }],
      warmPool: { size: 1 },
      onProgress: (e) => {
        events.push(e);
        console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] [${e.phase}] ${e.message}`);
      },
    });
    expect(provider.warmPoolStatus()).toEqual({ size: 1, ready: 0, filling: false });
    const first = await provider.createSession({ sessionId: idA, identity, onFirstCreate });
    const sessions = [first];
    try {
      expect(first.id).not.toMatch(/^aisdk-anon-/); // the pool was empty: an ordinary create
      await poolReady(provider);
      const [member] = newAnonymous(before);
      expect(member).toBeDefined();

      const t0 = performance.now();
      const second = await provider.createSession({ sessionId: idB, identity, onFirstCreate });
      const handoverMs = performance.now() - t0;
      sessions.push(second);
      const t1 = performance.now();
      await second.run({ command: 'true' });
      console.log(`warm pool: handover ${handoverMs.toFixed(0)} ms, one run('true') ${(performance.now() - t1).toFixed(0)} ms`);
      expect(second.id).toBe(member);
      expect(events.some((e) => e.phase === 'pool' && e.message.includes(member))).toBe(true);
      expect(bootstraps).toBe(1);
      expect(await second.readTextFile({ path: '/opt/pool-base' })).toBe('bootstrapped');
      // Its own host port (leased when it entered the pool), answering for its guest.
      const urlA = await first.getPortUrl({ port: 4000, protocol: 'http' });
      const urlB = await second.getPortUrl({ port: 4000, protocol: 'http' });
      expect(urlB).not.toBe(urlA);
      await second.writeTextFile({ path: 'pooled.txt', content: 'handed over' });
      const server = await second.spawn({
        command: `node -e "require('http').createServer((q,r)=>r.end('pooled')).listen(4000,()=>console.log('up'))"`,
      });
      await server.stdout.pipeThrough(new TextDecoderStream()).getReader().read();
      expect(await (await fetch(urlB, { signal: AbortSignal.timeout(60_000) })).text()).toBe('pooled');

      // Resumed by its id from another process: the same microVM, URL and disk.
      const { stdout } = await run(process.execPath, [child, 'resume', harnessImage(), idB], { timeout: 300_000 });
      expect(lastJson(stdout)).toEqual({ id: member, url: urlB, file: 'handed over' });

      // The pool refills; a create without the template (no identity) replaces its fork.
      await poolReady(provider);
      const [forkWaiting] = newAnonymous(before, member);
      const third = await provider.createSession({ sessionId: idC });
      sessions.push(third);
      expect(third.id).not.toMatch(/^aisdk-anon-/);
      await poolReady(provider);
      expect(sandboxStatus(forkWaiting)).toBeNull();
      const [coldWaiting] = newAnonymous(before, member);
      expect(coldWaiting).toBeDefined();
      expect(coldWaiting).not.toBe(forkWaiting);

      await second.destroy();
      expect(cacheStateFor(member)).toEqual([]);
      expect(sandboxStatus(member)).toBeNull();
      await provider.close();
      expect(provider.warmPoolStatus()!.ready).toBe(0);
      expect(sandboxStatus(coldWaiting)).toBeNull();
      expect(cacheStateFor(coldWaiting)).toEqual([]);
    } finally {
      await provider.close();
      await Promise.all(sessions.map((s) => s.destroy()));
    }
    expect(newAnonymous(before)).toEqual([]);
  });

  it('what waits in the pool never outlives its process: removed when the event loop runs out, reaped by the next process after a kill', async () => {
    const before = ourSandboxes();
    const identity = `pool-exit-${randomUUID()}`;
    const ids = [`pool-exit-${randomUUID()}`, `pool-kill-${randomUUID()}`];
    const cleanup = createMicrosandbox({ image: harnessImage(), ports: [{ host: 4000, guest: 4000 }] });
    try {
      const { stdout } = await run(process.execPath, [child, 'pool', harnessImage(), identity, ids[0]], { timeout: 600_000 });
      const { id: exited } = lastJson(stdout);
      expect(newAnonymous(before)).toEqual([]);

      const hanging = spawn(process.execPath, [child, 'pool', harnessImage(), identity, ids[1], 'hang'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      for await (const chunk of hanging.stdout!) {
        out += chunk;
        if (out.includes('\n')) break;
      }
      const { id: killed } = lastJson(out);
      const [waiting] = newAnonymous(before);
      expect(waiting).toBeDefined();
      hanging.kill('SIGKILL');
      await new Promise((r) => hanging.once('exit', r));
      const report = await cleanup.prune();
      expect(report.removedOrphans).toContain(waiting);
      expect(sandboxStatus(waiting)).toBeNull();
      // The sessions the two processes created are theirs to keep: resumable, not reaped.
      expect(sandboxStatus(exited)).toBe('running');
      expect(sandboxStatus(killed)).toBe('running');
    } finally {
      for (const sessionId of ids) await (await cleanup.resumeSession({ sessionId }).catch(() => null))?.destroy();
    }
    expect(newAnonymous(before)).toEqual([]);
  });
});
