// Bootstrap templates, cross-process resume, wrap mode and pruning (issue #5).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createMicrosandbox, createMicrosandboxNetworkSandboxSession, resumeMicrosandboxNetworkSandboxSession } from '../../index.js';
import { harnessImage, ourSandboxes, sandboxStatus } from '../support/env.js';

const child = join(import.meta.dirname, '../support/child.mjs');
const run = promisify(execFile);
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!);
const counter = () => join(mkdtempSync(join(tmpdir(), 'aisdk-ms-count-')), 'count');
const lines = (file: string) => {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

describe('bootstrap templates', () => {
  it('two processes creating one identity at once bootstrap once and both fork from it', async () => {
    const identity = `shared-${randomUUID()}`;
    const count = counter();
    const [a, b] = await Promise.all([
      run(process.execPath, [child, 'bootstrap', harnessImage(), identity, count], { timeout: 600_000 }),
      run(process.execPath, [child, 'bootstrap', harnessImage(), identity, count], { timeout: 600_000 }),
    ]);
    expect(lines(count)).toHaveLength(1);
    const [bootstrapper] = lines(count);
    expect(lastJson(a.stdout).marker).toBe(bootstrapper);
    expect(lastJson(b.stdout).marker).toBe(bootstrapper);
    expect(lastJson(a.stdout).id).not.toBe(lastJson(b.stdout).id);
  });

  it('a bootstrap that throws publishes nothing, and the next create runs it again', async () => {
    const identity = `fails-${randomUUID()}`;
    const provider = createMicrosandbox({ image: harnessImage() });
    // Template microVMs of other runs (a killed test VM leaves rows behind) are not this test's.
    const templatesBefore = ourSandboxes().filter((n) => n.startsWith('aisdk-template-'));
    let calls = 0;
    await expect(
      provider.createSession({
        identity,
        onFirstCreate: async () => {
          calls++;
          throw new Error('bootstrap broke');
        },
      }),
    ).rejects.toThrow('bootstrap broke');
    const session = await provider.createSession({
      identity,
      onFirstCreate: async (s) => {
        calls++;
        await s.writeTextFile({ path: '/opt/ok', content: 'second try' });
      },
    });
    expect(calls).toBe(2);
    expect(await session.readTextFile({ path: '/opt/ok' })).toBe('second try');
    await session.destroy();
    expect(ourSandboxes().filter((n) => n.startsWith('aisdk-template-'))).toEqual(templatesBefore);
  });

  it('an abort during onFirstCreate ends the create at once even if the setup ignores it, publishes nothing and removes the template microVM', async () => {
    const identity = `aborted-${randomUUID()}`;
    const provider = createMicrosandbox({ image: harnessImage() });
    const templatesBefore = ourSandboxes().filter((n) => n.startsWith('aisdk-template-'));
    const controller = new AbortController();
    let abortedAt = 0;
    const creating = provider.createSession({
      identity,
      abortSignal: controller.signal,
      onFirstCreate: async () => {
        setTimeout(() => {
          abortedAt = Date.now();
          controller.abort(new Error('caller gave up mid-bootstrap'));
        }, 100);
        await new Promise(() => {}); // a setup that never looks at its abortSignal
      },
    });
    await expect(creating).rejects.toThrow('caller gave up mid-bootstrap');
    console.log(`the create ended ${Date.now() - abortedAt} ms after the abort`);
    expect(ourSandboxes().filter((n) => n.startsWith('aisdk-template-'))).toEqual(templatesBefore);
    let calls = 0;
    const session = await provider.createSession({ identity, onFirstCreate: async () => void calls++ });
    expect(calls).toBe(1); // nothing was published: the next create bootstraps
    await session.destroy();
  });

  it('recovers when the bootstrapping process is killed with SIGKILL mid-bootstrap', async () => {
    const identity = `killed-${randomUUID()}`;
    const count = counter();
    const victim = spawn(process.execPath, [child, 'bootstrap', harnessImage(), identity, count, 'hang']);
    await new Promise<void>((resolve, reject) => {
      victim.stdout.on('data', (d) => String(d).includes('bootstrapping') && resolve());
      victim.on('exit', () => reject(new Error('the child exited before bootstrapping')));
    });
    victim.kill('SIGKILL');
    const { stdout } = await run(process.execPath, [child, 'bootstrap', harnessImage(), identity, count], {
      timeout: 600_000,
    });
    expect(lines(count)).toHaveLength(2);
    expect(lastJson(stdout).marker).toBe(lines(count)[1]);
  });

  it('forks are independent of each other', async () => {
    const identity = `independent-${randomUUID()}`;
    const provider = createMicrosandbox({ image: harnessImage() });
    const onFirstCreate = async (s: { writeTextFile: (o: { path: string; content: string }) => Promise<void> }) =>
      s.writeTextFile({ path: '/opt/base', content: 'base' });
    const a = await provider.createSession({ identity, onFirstCreate });
    const b = await provider.createSession({ identity, onFirstCreate });
    try {
      await a.writeTextFile({ path: '/opt/base', content: 'changed in a' });
      expect(await b.readTextFile({ path: '/opt/base' })).toBe('base');
    } finally {
      await Promise.all([a.destroy(), b.destroy()]);
    }
    expect(ourSandboxes()).not.toContain(a.id);
    expect(ourSandboxes()).not.toContain(b.id);
  });
});

describe('source', () => {
  it('git at a revision and depth, and a tarball, fetched by every session from the test host; a fork fetches the current revision; a bad revision removes the session', async () => {
    const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd });
    const base = mkdtempSync(join(tmpdir(), 'aisdk-src-'));
    const repo = join(base, 'repo');
    execFileSync('git', ['init', '-q', '-b', 'main', repo]);
    writeFileSync(join(repo, 'version.txt'), 'v1');
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'one');
    git(repo, 'tag', 'v1');
    writeFileSync(join(repo, 'version.txt'), 'v2');
    git(repo, 'commit', '-qam', 'two');
    const gitPort = 9418 + Math.floor(Math.random() * 500);
    const daemon = spawn('git', ['daemon', '--export-all', `--base-path=${base}`, '--listen=127.0.0.1', `--port=${gitPort}`, '--reuseaddr', base], { stdio: 'ignore' });
    const tarball = join(base, 'code.tgz');
    execFileSync('tar', ['-czf', tarball, '-C', repo, 'version.txt']);
    const server = http.createServer((_, res) => res.end(readFileSync(tarball)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const httpPort = (server.address() as AddressInfo).port;
    const identity = `source-${randomUUID()}`;
    let setups = 0;
    const onFirstCreate = async () => void (setups += 1);
    // A working directory of its own: the harness image's /workspace holds the Codex bridge's install.
    const provider = (source: object) =>
      createMicrosandbox({ image: harnessImage(), workdir: '/src', allowHostPorts: [gitPort, httpPort], source });
    const url = `git://host.microsandbox.internal:${gitPort}/repo`;
    try {
      await new Promise((r) => setTimeout(r, 500)); // git daemon binds its port
      const pinned = await provider({ type: 'git', url, revision: 'v1', depth: 1 }).createSession({ identity, onFirstCreate });
      const latest = await provider({ type: 'git', url }).createSession({ identity, onFirstCreate });
      const unpacked = await provider({ type: 'tarball', url: `http://host.microsandbox.internal:${httpPort}/code.tgz` }).createSession({ identity, onFirstCreate });
      try {
        expect(setups).toBe(1); // the template was bootstrapped once, without any source in it
        expect(await pinned.readTextFile({ path: 'version.txt' })).toBe('v1');
        expect((await pinned.run({ command: 'git rev-list --count HEAD' })).stdout.trim()).toBe('1');
        expect(await latest.readTextFile({ path: 'version.txt' })).toBe('v2');
        expect(await unpacked.readTextFile({ path: 'version.txt' })).toBe('v2');
      } finally {
        await Promise.all([pinned.destroy(), latest.destroy(), unpacked.destroy()]);
      }
      const before = ourSandboxes().length;
      const failed = await provider({ type: 'git', url, revision: 'no-such-revision' })
        .createSession({ identity, onFirstCreate })
        .catch((err) => err);
      expect(failed.code).toBe('ERR_MICROSANDBOX_SOURCE_FAILED');
      expect(failed.message).toContain(url);
      expect(ourSandboxes().length).toBe(before);
    } finally {
      daemon.kill();
      server.close();
    }
  });
});

describe('user', () => {
  it('commands, spawned processes and written files belong to the session user, the working directory is theirs, pre-commands run as root, and a fork keeps all of it', async () => {
    const identity = `user-${randomUUID()}`;
    const provider = createMicrosandbox({ image: harnessImage(), user: 'nobody', bootstrapPreCommands: ['id -u > /opt/pre-uid'] });
    const onFirstCreate = async (s: { writeTextFile: (o: { path: string; content: string }) => Promise<void> }) =>
      s.writeTextFile({ path: 'from-setup.txt', content: 'x' });
    const session = await provider.createSession({ identity, onFirstCreate });
    try {
      expect((await session.run({ command: 'id -u' })).stdout).toBe('65534\n');
      expect(await session.readTextFile({ path: '/opt/pre-uid' })).toBe('0\n');
      await session.writeTextFile({ path: 'sub/dir/note.txt', content: 'hi' });
      const owners = await session.run({ command: 'stat -c %u . sub sub/dir sub/dir/note.txt from-setup.txt' });
      expect(owners.stdout.trim().split('\n')).toEqual(['65534', '65534', '65534', '65534', '65534']);
      expect((await session.run({ command: 'touch made-by-user && echo ${IS_SANDBOX:-no IS_SANDBOX}' })).stdout).toBe('no IS_SANDBOX\n');
      const spawned = await session.spawn({ command: 'id -u' });
      expect(await new Response(spawned.stdout).text()).toBe('65534\n');
      expect(session.description).toContain('unprivileged user (uid 65534)');
    } finally {
      await session.destroy();
    }
  });
});

describe('prepare', () => {
  it('npx ai-sdk-microsandbox prepare <config> bootstraps the template ahead: the first session forks and the setup does not run again', async () => {
    const identity = `prepared-${randomUUID()}`;
    const count = counter();
    const config = join(mkdtempSync(join(tmpdir(), 'aisdk-prepare-')), 'sandbox.config.mjs');
    writeFileSync(
      config,
      `import { appendFileSync } from 'node:fs';
export default () => ({
  image: process.env.PREPARE_IMAGE,
  brokerCredentials: false,
  template: {
    identity: process.env.PREPARE_IDENTITY,
    prepare: async ({ session }) => {
      appendFileSync(process.env.PREPARE_COUNT, 'cli\\n');
      await session.writeTextFile({ path: '/opt/prepared', content: 'yes' });
    },
  },
});
`,
    );
    const cli = join(import.meta.dirname, '../../bin/ai-sdk-microsandbox.js');
    const env = { ...process.env, PREPARE_IMAGE: harnessImage(), PREPARE_IDENTITY: identity, PREPARE_COUNT: count };
    const { stdout } = await run(process.execPath, [cli, 'prepare', config, '--json'], { env, timeout: 600_000 });
    expect(JSON.parse(stdout)).toMatchObject({ bootstrapped: true, templateKey: expect.any(String) });
    expect(lines(count)).toEqual(['cli']);
    const session = await createMicrosandboxNetworkSandboxSession({
      image: harnessImage(),
      brokerCredentials: false,
      template: { identity, prepare: async () => appendFileSync(count, 'again\n') },
    });
    try {
      expect(await session.readTextFile({ path: '/opt/prepared' })).toBe('yes');
      expect(lines(count)).toEqual(['cli']);
    } finally {
      await session.destroy();
    }
  });
});

describe('workspace', () => {
  it('mount: the agent edits the host directory in place; a fork of the same template binds its own workspace, never the creator\'s', async () => {
    const identity = `workspace-${randomUUID()}`;
    const [alice, bob] = ['alice', 'bob'].map((who) => {
      const dir = mkdtempSync(join(tmpdir(), `aisdk-ws-${who}-`));
      writeFileSync(join(dir, 'README.md'), who);
      return dir;
    });
    let setups = 0;
    const onFirstCreate = async (s: { writeTextFile: (o: { path: string; content: string }) => Promise<void> }) => {
      setups += 1;
      await s.writeTextFile({ path: '/opt/bootstrapped', content: 'yes' });
    };
    const a = await createMicrosandbox({ image: harnessImage(), workspace: { path: alice } }).createSession({ identity, onFirstCreate });
    const b = await createMicrosandbox({ image: harnessImage(), workspace: { path: bob } }).createSession({ identity, onFirstCreate });
    try {
      expect(setups).toBe(1); // b started from a's template
      expect(a.defaultWorkingDirectory).toBe('/workspace');
      expect(await a.readTextFile({ path: 'README.md' })).toBe('alice');
      expect((await a.run({ command: 'echo from-guest > made.sh && chmod +x made.sh' })).exitCode).toBe(0);
      expect(readFileSync(join(alice, 'made.sh'), 'utf8')).toBe('from-guest\n');
      expect(statSync(join(alice, 'made.sh')).mode & 0o100).not.toBe(0);
      writeFileSync(join(alice, 'from-host.txt'), 'host edit');
      expect(await a.readTextFile({ path: 'from-host.txt' })).toBe('host edit');

      expect(await b.readTextFile({ path: 'README.md' })).toBe('bob');
      expect(await b.readTextFile({ path: 'made.sh' })).toBeNull();
      expect(await b.readTextFile({ path: '/opt/bootstrapped' })).toBe('yes');
      await b.writeTextFile({ path: 'b.txt', content: 'bob was here' });
      expect(readFileSync(join(bob, 'b.txt'), 'utf8')).toBe('bob was here');
    } finally {
      await Promise.all([a.destroy(), b.destroy()]);
    }
    expect(existsSync(join(alice, 'b.txt'))).toBe(false);
    expect(readFileSync(join(alice, 'README.md'), 'utf8')).toBe('alice');
  });
});

describe('workspace overlay', () => {
  it('overlay: the agent\'s writes stay in the microVM, even as root against the read-only bind; the diff names them across a stop and resume; a conflicting host edit is refused; apply writes them; a fork sees its own workspace', async () => {
    const [alice, bob] = ['alice', 'bob'].map((who) => {
      const dir = mkdtempSync(join(tmpdir(), `aisdk-ov-${who}-`));
      writeFileSync(join(dir, 'README.md'), `${who}\n`);
      writeFileSync(join(dir, 'gone.txt'), 'to be deleted\n');
      return dir;
    });
    const template = { identity: `overlay-${randomUUID()}`, prepare: async () => {} };
    const create = (path: string, sandboxId?: string) =>
      createMicrosandboxNetworkSandboxSession({ image: harnessImage(), workspace: { path, mode: 'overlay' }, template, sandboxId });
    const sandboxId = `overlay-${randomUUID()}`;
    // a brokers credentials, so it boots the template's disk; b (the provider shape) forks its RAM.
    const a = await create(alice, sandboxId);
    const b = await createMicrosandbox({ image: harnessImage(), workspace: { path: bob, mode: 'overlay' } })
      .createSession({ identity: template.identity, onFirstCreate: async () => {} });
    let resumed: Awaited<ReturnType<typeof create>> | undefined;
    try {
      expect(await a.readTextFile({ path: 'README.md' })).toBe('alice\n');
      const work = await a.run({ command: 'echo "alice, edited" > README.md && rm gone.txt && mkdir -p src && printf "new\\n" > src/made.txt' });
      expect(work.exitCode).toBe(0);
      // Guest root goes for the host directory itself: the runtime's file server refuses.
      const lower = '/var/lib/ai-sdk-microsandbox/workspace/lower';
      await a.run({ command: `echo x > ${lower}/evil; mount -o remount,rw ${lower}; echo x > ${lower}/evil; rm -f ${lower}/README.md` });
      expect(readFileSync(join(alice, 'README.md'), 'utf8')).toBe('alice\n');
      expect(existsSync(join(alice, 'gone.txt'))).toBe(true);
      expect(existsSync(join(alice, 'src'))).toBe(false);
      expect(existsSync(join(alice, 'evil'))).toBe(false);

      expect(await b.readTextFile({ path: 'README.md' })).toBe('bob\n');
      expect((await b.getWorkspaceChanges()).files).toEqual([]);
      await b.writeTextFile({ path: 'b.txt', content: 'bob was here' });
      expect((await b.getWorkspaceChanges()).files.map((f) => f.path)).toEqual(['b.txt']);
      expect(existsSync(join(bob, 'b.txt'))).toBe(false);

      await a.stop();
      resumed = await resumeMicrosandboxNetworkSandboxSession({ sandboxId });
      const changes = await resumed.getWorkspaceChanges();
      expect(changes.files.map((f) => [f.path, f.status])).toEqual([
        ['README.md', 'modified'],
        ['gone.txt', 'deleted'],
        ['src/made.txt', 'added'],
      ]);
      expect(changes.diff).toContain('--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-alice\n+alice, edited\n');
      expect(changes.diff).toContain('--- /dev/null\n+++ b/src/made.txt\n');

      writeFileSync(join(alice, 'README.md'), 'alice, edited on the host meanwhile\n');
      const refused = await resumed.applyWorkspaceChanges(changes).catch((err) => err);
      expect(refused.code).toBe('ERR_MICROSANDBOX_WORKSPACE_CONFLICT');
      expect(refused.message).toContain('README.md changed on the host');
      expect(existsSync(join(alice, 'src'))).toBe(false); // nothing was written
      writeFileSync(join(alice, 'README.md'), 'alice\n');

      expect((await resumed.applyWorkspaceChanges(await resumed.getWorkspaceChanges())).applied).toHaveLength(3);
      expect(readFileSync(join(alice, 'README.md'), 'utf8')).toBe('alice, edited\n');
      expect(readFileSync(join(alice, 'src/made.txt'), 'utf8')).toBe('new\n');
      expect(existsSync(join(alice, 'gone.txt'))).toBe(false);
      expect((await resumed.getWorkspaceChanges()).files).toEqual([]);
      expect(readFileSync(join(bob, 'README.md'), 'utf8')).toBe('bob\n');
    } finally {
      await Promise.all([(resumed ?? a).destroy(), b.destroy()]);
    }
  });
});

describe('forked sessions', () => {
  it('a forked session with a sessionId stops and resumes in another provider with its disk and the bootstrap intact', async () => {
    const identity = `resume-${randomUUID()}`;
    const sessionId = `forked-${randomUUID()}`;
    const forked = await createMicrosandbox({ image: harnessImage() }).createSession({
      identity,
      sessionId,
      onFirstCreate: async (s) => s.writeTextFile({ path: '/opt/bootstrapped', content: 'yes' }),
    });
    await forked.writeTextFile({ path: 'mine.txt', content: 'kept across stop' });
    await forked.stop();
    const resumed = await createMicrosandbox({ image: harnessImage() }).resumeSession({ sessionId });
    try {
      expect(resumed.id).toBe(forked.id);
      expect(await resumed.readTextFile({ path: 'mine.txt' })).toBe('kept across stop');
      expect(await resumed.readTextFile({ path: '/opt/bootstrapped' })).toBe('yes');
      expect((await resumed.run({ command: 'pwd' })).stdout).toBe(`${resumed.defaultWorkingDirectory}\n`);
    } finally {
      await resumed.destroy();
    }
  });
});

describe('lifetime', () => {
  it('a forked session without a sessionId stops within its idle bound once its process is killed', async () => {
    const identity = `idle-${randomUUID()}`;
    const count = counter();
    await run(process.execPath, [child, 'bootstrap', harnessImage(), identity, count], { timeout: 600_000 });
    const idleMs = 15_000;
    const hanging = spawn(process.execPath, [child, 'fork-and-hang', harnessImage(), identity, count, String(idleMs)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    for await (const chunk of hanging.stdout!) {
      out += chunk;
      if (out.includes('\n')) break;
    }
    const { id } = lastJson(out);
    expect(lines(count)).toHaveLength(1);
    expect(sandboxStatus(id)).toBe('running');
    hanging.kill('SIGKILL');
    const killedAt = Date.now();
    // The runtime checks idleness periodically; allow it generous slack under emulation.
    while (sandboxStatus(id) === 'running' && Date.now() - killedAt < idleMs + 120_000) {
      await new Promise((r) => setTimeout(r, 2000));
    }
    const status = sandboxStatus(id);
    console.log(`forked orphan ${id}: ${status} ${Date.now() - killedAt} ms after its process was killed`);
    expect(status).not.toBe('running');
    // The next process of ours removes it for good.
    await createMicrosandbox({ image: harnessImage() }).prune();
    expect(sandboxStatus(id)).toBeNull();
  });
});

describe('across processes', () => {
  it('detach in process A, resume in process B: the file is there and the guest server still answers on the same URL', async () => {
    const sessionId = `detach-${randomUUID()}`;
    const { stdout, stderr } = await run(process.execPath, [child, 'detach', harnessImage(), sessionId], { timeout: 300_000 });
    console.log(stderr);
    const { url, id } = lastJson(stdout);
    const resumed = await createMicrosandbox({ image: harnessImage(), ports: [{ host: 4000, guest: 4000 }] }).resumeSession({
      sessionId,
    });
    try {
      expect(resumed.id).toBe(id);
      expect(await resumed.getPortUrl({ port: 4000, protocol: 'http' })).toBe(url);
      expect(await resumed.readTextFile({ path: 'from-a.txt' })).toMatch(/^written by \d+$/);
      expect(await (await fetch(url, { signal: AbortSignal.timeout(60_000) })).text()).toBe('still here');
    } finally {
      await resumed.destroy();
    }
  });
});

describe('wrap mode', () => {
  it('works in the caller-owned sandbox and never stops it; onFirstCreate is not called', async () => {
    const owner = await createMicrosandbox({ image: harnessImage(), ports: [{ host: 4000, guest: 4000 }] }).createSession({
      sessionId: `owner-${randomUUID()}`,
    });
    try {
      const wrapped = createMicrosandbox({ sandbox: owner.id, bridgePorts: [4000] });
      let called = false;
      const session = await wrapped.createSession({ identity: 'x', onFirstCreate: async () => void (called = true) });
      expect(called).toBe(false);
      expect(session.ports).toEqual([4000]);
      expect(await session.getPortUrl({ port: 4000, protocol: 'ws' })).toBe(await owner.getPortUrl({ port: 4000, protocol: 'ws' }));
      await session.writeTextFile({ path: '/tmp/from-wrap', content: 'hi' });
      await session.stop();
      await session.destroy();
      expect(await owner.readTextFile({ path: '/tmp/from-wrap' })).toBe('hi');
      expect((await owner.run({ command: 'echo alive' })).stdout).toBe('alive\n');
    } finally {
      await owner.destroy();
    }
  });
});

describe('pruning', () => {
  it('removes templates beyond the newest that were not used recently, and keeps the rest usable', async () => {
    const provider = createMicrosandbox({ image: harnessImage() });
    const make = async (identity: string) => {
      const s = await provider.createSession({ identity, onFirstCreate: async () => {} });
      await s.destroy();
    };
    await make(`old-${randomUUID()}`);
    await new Promise((r) => setTimeout(r, 1100));
    const keep = `new-${randomUUID()}`;
    await make(keep);
    const report = await provider.prune({ keepNewest: 1, keepUsedWithinMs: 0 });
    expect(report.removedTemplates.length).toBeGreaterThanOrEqual(1);
    expect(report.keptTemplates).toHaveLength(1);
    let calls = 0;
    const s = await provider.createSession({ identity: keep, onFirstCreate: async () => void calls++ });
    expect(calls).toBe(0);
    await s.destroy();
  });
});
