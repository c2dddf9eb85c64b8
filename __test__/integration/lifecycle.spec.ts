// Sessions named by sessionId: stop/resume, name collisions, concurrency, small images.
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMicrosandbox } from '../../index.js';
import { busyboxImage, cacheStateFor, harnessImage, ourSandboxes } from '../support/env.js';

const child = join(import.meta.dirname, '../support/child.mjs');
const cli = join(import.meta.dirname, '../../bin/ai-sdk-microsandbox.js');
const settings = () => ({ image: harnessImage(), ports: [{ host: 4000, guest: 4000 }] });

describe('a session with a sessionId', () => {
  it('stops, then resumes from a fresh provider with the same id, directory, ports, URL and disk', async () => {
    const sessionId = `resume-${randomUUID()}`;
    const created = await createMicrosandbox(settings()).createSession({ sessionId });
    try {
      await created.writeTextFile({ path: 'keep/me.txt', content: 'still here' });
      await created.run({ command: 'echo home-data > "$HOME/.home-file"' });
      const url = await created.getPortUrl({ port: 4000, protocol: 'ws' });
      await created.stop();
      expect(ourSandboxes()).toContain(created.id);

      const resumed = await createMicrosandbox(settings()).resumeSession({ sessionId });
      expect(resumed.id).toBe(created.id);
      expect(resumed.defaultWorkingDirectory).toBe(created.defaultWorkingDirectory);
      expect(resumed.ports).toEqual(created.ports);
      expect(await resumed.getPortUrl({ port: 4000, protocol: 'ws' })).toBe(url);
      expect(await resumed.readTextFile({ path: 'keep/me.txt' })).toBe('still here');
      expect((await resumed.run({ command: 'cat "$HOME/.home-file"' })).stdout).toBe('home-data\n');
      await resumed.destroy();
    } finally {
      await created.destroy();
    }
    expect(ourSandboxes()).not.toContain(created.id);
    await expect(createMicrosandbox(settings()).resumeSession({ sessionId })).rejects.toMatchObject({
      code: 'ERR_MICROSANDBOX_SESSION_NOT_FOUND',
    });
  });

  it('a resume refuses a host port another program took meanwhile, and an aborted resume keeps the session', async () => {
    const sessionId = `guarded-${randomUUID()}`;
    const created = await createMicrosandbox(settings()).createSession({ sessionId });
    const hostPort = Number(new URL(await created.getPortUrl({ port: 4000 })).port);
    await created.writeTextFile({ path: 'kept.txt', content: 'disk' });
    await created.stop();
    const squatter = http.createServer((_, res) => res.end('someone else'));
    squatter.listen(hostPort, '127.0.0.1');
    await once(squatter, 'listening');
    try {
      await expect(createMicrosandbox(settings()).resumeSession({ sessionId })).rejects.toMatchObject({
        code: 'ERR_MICROSANDBOX_PORT_UNAVAILABLE',
        message: expect.stringContaining(String(hostPort)),
      });
    } finally {
      squatter.close();
      await once(squatter, 'close');
    }
    const aborted = createMicrosandbox(settings()).resumeSession({ sessionId, abortSignal: AbortSignal.timeout(50) });
    // It rejects once the native resume is over; the session must still be there.
    await expect(aborted).rejects.toThrow();
    const resumed = await createMicrosandbox(settings()).resumeSession({ sessionId });
    try {
      expect(await resumed.readTextFile({ path: 'kept.txt' })).toBe('disk');
      expect(await resumed.getPortUrl({ port: 4000 })).toBe(`http://127.0.0.1:${hostPort}/`);
    } finally {
      await resumed.destroy();
    }
  });

  it('an aborted create stops the boot and leaves no microVM, port lease or record', async () => {
    const sessionId = `aborted-${randomUUID()}`;
    const before = ourSandboxes();
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('caller gave up')), 3000);
    await expect(createMicrosandbox(settings()).createSession({ sessionId, abortSignal: controller.signal })).rejects.toThrow(
      'caller gave up',
    );
    console.log(`aborted create returned ${Date.now() - started} ms after it started`);
    expect(ourSandboxes()).toEqual(before);
    expect(cacheStateFor(`aisdk-aborted-${sessionId.slice('aborted-'.length, 20)}`)).toEqual([]);
    await expect(createMicrosandbox(settings()).resumeSession({ sessionId })).rejects.toMatchObject({
      code: 'ERR_MICROSANDBOX_SESSION_NOT_FOUND',
    });
  });

  it('after its creator is killed mid-create, the id can be created again with replace, and the CLI lists and removes it without leaks', async () => {
    const sessionId = `killed-${randomUUID()}`;
    const before = ourSandboxes();
    const creator = spawn(process.execPath, [child, 'create', harnessImage(), sessionId], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 4000));
    creator.kill('SIGKILL');
    await once(creator, 'exit');
    const again = await createMicrosandbox({ ...settings(), replace: true }).createSession({ sessionId });
    expect((await again.run({ command: 'echo fresh' })).stdout).toBe('fresh\n');
    // The shell's way to see and remove it.
    const listed = JSON.parse(execFileSync(process.execPath, [cli, 'ls', '--json'], { encoding: 'utf8' }));
    expect(listed.sessions).toContainEqual(expect.objectContaining({ name: again.id, resumable: true, status: 'running' }));
    const listedSession = listed.sessions.find((s: { name: string }) => s.name === again.id);
    expect(Date.now() / 1000 - listedSession.createdAt).toBeLessThan(3600);
    expect(listedSession.diskBytes).toBeGreaterThan(2 ** 20);
    const logs = JSON.parse(execFileSync(process.execPath, [cli, 'logs', sessionId, '--json'], { encoding: 'utf8' }));
    expect(logs.map((l: { text: string }) => l.text).join('')).toContain('fresh');
    // logs prints guest bytes escaped: no terminal sequence (OSC 52 writes the clipboard) and no forged line.
    await again.run({ command: `printf 'osc\\033]52;c;cHduZWQ=\\007 forged\\n2026-01-01T00:00:00Z runtime: fake\\n'` });
    const text = execFileSync(process.execPath, [cli, 'logs', sessionId], { encoding: 'utf8' });
    expect(text).toContain('osc\\x1b]52;c;cHduZWQ=\\x07 forged');
    expect(text.includes('\u001b') || text.includes('\u0007')).toBe(false);
    expect(text.split('\n').some((line) => line.startsWith('2026-01-01T00:00:00Z runtime: fake'))).toBe(false);
    expect(execFileSync(process.execPath, [cli, 'logs', sessionId, '--raw'], { encoding: 'utf8' })).toContain('\u001b]52;c;');
    expect(execFileSync(process.execPath, [cli, 'rm', sessionId], { encoding: 'utf8' })).toBe(`removed ${again.id}\n`);
    expect(ourSandboxes()).toEqual(before);
    expect(cacheStateFor(`aisdk-killed-${sessionId.slice('killed-'.length, 20)}`)).toEqual([]);
  });

  it('refuses a second create of the same id unless replace is set', async () => {
    const sessionId = `dup-${randomUUID()}`;
    const first = await createMicrosandbox(settings()).createSession({ sessionId });
    try {
      await first.writeTextFile({ path: 'marker', content: 'first' });
      await expect(createMicrosandbox(settings()).createSession({ sessionId })).rejects.toMatchObject({
        code: 'ERR_MICROSANDBOX_SESSION_EXISTS',
      });
      expect(await first.readTextFile({ path: 'marker' })).toBe('first');
      const second = await createMicrosandbox({ ...settings(), replace: true }).createSession({ sessionId });
      expect(second.id).toBe(first.id);
      expect(await second.readTextFile({ path: 'marker' })).toBeNull();
      await second.destroy();
    } finally {
      await first.destroy();
    }
  });
});

describe('one provider', () => {
  it('runs 4 sessions at once, each reachable on its own host port for guest port 4000', async () => {
    const provider = createMicrosandbox(settings());
    // Two concurrent creates at a time (their port leases race each other), then all four run at
    // once. Four boots at once is what most often crashes the emulated test host
    // (scripts/vmhost/README.md), and it proves nothing more about our code.
    const pair = () => Promise.all([provider.createSession(), provider.createSession()]);
    const sessions = [...(await pair()), ...(await pair())];
    try {
      const urls = await Promise.all(sessions.map((s) => s.getPortUrl({ port: 4000, protocol: 'http' })));
      expect(new Set(urls).size).toBe(4);
      const servers = await Promise.all(
        sessions.map((s, i) =>
          s.spawn({
            command: `node -e "require('http').createServer((q,r)=>r.end('vm${i}')).listen(4000,()=>console.log('up'))"`,
          }),
        ),
      );
      for (const server of servers) {
        const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
        expect((await reader.read()).value).toContain('up');
        reader.releaseLock();
      }
      const answers = await Promise.all(urls.map(async (u) => (await fetch(u)).text()));
      expect(answers).toEqual(['vm0', 'vm1', 'vm2', 'vm3']);
    } finally {
      await Promise.all(sessions.map((s) => s.destroy()));
    }
    for (const s of sessions) expect(ourSandboxes()).not.toContain(s.id);
  });
});

describe('a minimal image', () => {
  it('runs commands with /bin/sh when the image has no bash', async () => {
    const session = await createMicrosandbox({ image: busyboxImage() }).createSession();
    try {
      expect(await session.run({ command: 'echo hello' })).toEqual({ exitCode: 0, stdout: 'hello\n', stderr: '' });
      expect(session.defaultWorkingDirectory).toBe('/root');
      const proc = await session.spawn({ command: 'echo streamed; exit 4' });
      expect(await new Response(proc.stdout).text()).toBe('streamed\n');
      expect((await proc.wait()).exitCode).toBe(4);
    } finally {
      await session.destroy();
    }
  });
});

describe('a rootfs directory image', () => {
  it('rootfs directory: guest root\'s writes never reach the host directory, and the next session starts from it unchanged', async () => {
    // The busybox image's one layer, unpacked: a rootfs directory as a user would have one.
    const base = mkdtempSync(join(tmpdir(), 'aisdk-rootfs-'));
    execFileSync('tar', ['-xf', busyboxImage(), '-C', base]);
    const layer = readdirSync(base).find((f) => existsSync(join(base, f, 'layer.tar')))!;
    const rootfs = join(base, 'rootfs');
    execFileSync('mkdir', [rootfs]);
    execFileSync('tar', ['-xf', join(base, layer, 'layer.tar'), '-C', rootfs]);
    const passwd = readFileSync(join(rootfs, 'etc/passwd'), 'utf8');
    const provider = createMicrosandbox({ image: rootfs });
    const first = await provider.createSession();
    try {
      const wrote = await first.run({ command: 'echo evil > /etc/evil && echo "evil:x:0:0::/:/bin/sh" >> /etc/passwd && rm /bin/ls && cat /etc/evil' });
      expect(wrote).toEqual({ exitCode: 0, stdout: 'evil\n', stderr: '' });
    } finally {
      await first.destroy();
    }
    expect(existsSync(join(rootfs, 'etc/evil'))).toBe(false);
    expect(readFileSync(join(rootfs, 'etc/passwd'), 'utf8')).toBe(passwd);
    expect(lstatSync(join(rootfs, 'bin/ls')).isSymbolicLink()).toBe(true); // busybox's applet link, still there
    const second = await provider.createSession();
    try {
      expect((await second.run({ command: 'test -e /etc/evil || echo clean; ls / >/dev/null && echo ls' })).stdout).toBe('clean\nls\n');
    } finally {
      await second.destroy();
    }
  });
});
