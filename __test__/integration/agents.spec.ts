// The real Claude Code agent end to end (issue #11): HarnessAgent from @ai-sdk/harness with the
// published @ai-sdk/harness-claude-code adapter, unmodified, in real microVMs. The adapter's own
// bootstrap runs in the guest: it writes its bridge, runs its `pnpm install` (the harness test image
// carries the result of that same command, so it finds everything up to date: scripts/images), runs
// Claude Code's installer and `claude --version`. The model is a local fake Anthropic Messages API
// (__test__/support/fake-anthropic.mjs).
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MicrosandboxSession } from '../../index.js';
import { createMicrosandboxNetworkSandboxSession, resumeMicrosandboxNetworkSandboxSession } from '../../index.js';
import { bridgePids, claudeAgent, claudeSandboxSettings, sandboxOf as sandboxOfUntyped } from '../support/claude-agent.mjs';
import { harnessImage, ourSandboxes } from '../support/env.js';
import { startFakeAnthropic } from '../support/fake-anthropic.mjs';

type FakeApi = Awaited<ReturnType<typeof startFakeAnthropic>>;
const run = promisify(execFile);

// One key per test run (scripts/test.sh names it; one per process otherwise): the template identity
// (through the bootstrap hash) and a private cache root (session records, port leases, templates)
// for this file and its child process. A rerun of this file after its test VM died forks from the
// template an earlier attempt published instead of bootstrapping again; the end of the file removes
// this run's template without touching anyone else's.
const runId = process.env.AI_SDK_MICROSANDBOX_TEST_RUN ?? randomUUID();
process.env.AI_SDK_MICROSANDBOX_CACHE_DIR = join(tmpdir(), `aisdk-agents-cache-${runId}`);
mkdirSync(process.env.AI_SDK_MICROSANDBOX_CACHE_DIR, { recursive: true, mode: 0o700 });
/** Whether an earlier attempt of this file ran in this test run (its template may exist). */
const rerun = Number(process.env.AI_SDK_MICROSANDBOX_TEST_ATTEMPT ?? 1) > 1;

// A key the fake API expects; worthless anywhere else. Never a real credential.
const FAKE_KEY = `sk-ant-fake-${randomUUID()}`;

const cacheRoot = () => process.env.AI_SDK_MICROSANDBOX_CACHE_DIR || join(homedir(), '.cache', 'ai-sdk-microsandbox');
const leasesNaming = (name: string) => {
  const dir = join(cacheRoot(), 'ports');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => {
    try {
      return readFileSync(join(dir, f), 'utf8').split('\n')[0] === name;
    } catch {
      return false;
    }
  });
};
/** 5. Nothing of a destroyed session is left: no microVM, no host-port lease, no session record. */
function expectNothingLeft(name: string) {
  expect(ourSandboxes()).not.toContain(name);
  expect(leasesNaming(name)).toEqual([]);
  expect(existsSync(join(cacheRoot(), 'sessions', `${name}.json`))).toBe(false);
}

let api: FakeApi;
let agent: ReturnType<typeof claudeAgent>['agent'];
let provider: ReturnType<typeof claudeAgent>['provider'];
let identities: string[];
let template: ReturnType<typeof claudeAgent>['template'];
let bootstraps = 0;
let bootstrapsAfterFirst = 0;
const live = new Set<{ destroy(): Promise<void> }>();
const stopped = new Set<string>(); // session ids stopped and not yet resumed
const timings: Record<string, number> = {};
const sandboxOf = (s: unknown) => sandboxOfUntyped(s) as MicrosandboxSession;

beforeAll(async () => {
  api = await startFakeAnthropic({ host: '127.0.0.1' });
  ({ agent, provider, identities, template } = claudeAgent({
    image: harnessImage(),
    apiPort: api.port,
    apiKey: FAKE_KEY,
    bootstrapHash: runId,
    onBootstrap: async () => void bootstraps++,
  }));
});

afterAll(async () => {
  console.log(`timings (ms): ${JSON.stringify(timings)}`);
  // Sessions a failed test left behind.
  await Promise.all([...live].map((s) => s.destroy().catch(() => {})));
  for (const sessionId of stopped) await provider.resumeSession({ sessionId }).then((s) => s.destroy()).catch(() => {});
  await api?.close();
  // This run's template (its identity is unique per run, its cache root private) is of no use later.
  const pruned = await provider?.prune({ keepNewest: 0, keepUsedWithinMs: 0 }).catch((e) => String(e));
  console.log(`pruned: ${JSON.stringify(pruned)}`);
});

/** createSession + one generate; returns the session, the result and the times. */
async function firstTurn(label: string, file: string, word: string) {
  // Unique per attempt: the emulated test host retries a failed test once.
  const sessionId = `${label}-${randomUUID().slice(0, 8)}`;
  const t0 = Date.now();
  const session = await agent.createSession({ sessionId });
  live.add(session);
  const created = Date.now();
  const result = await agent.generate({ session, prompt: `Please create ${file} containing ${word}` });
  const answered = Date.now();
  timings[`${label}.createSession`] = created - t0;
  timings[`${label}.generate`] = answered - created;
  timings[`${label}.firstAnswer`] = answered - t0;
  console.log(`${label}: createSession ${created - t0} ms, first turn ${answered - created} ms, first answer ${answered - t0} ms`);
  return { session, result, sessionId };
}

/** The agent-loop request that carried the tool result containing `needle`. */
const toolResultRequest = (needle: string) =>
  api.agentRequests().find((r) => {
    const last = r.body.messages.at(-1);
    return (
      last?.role === 'user' &&
      Array.isArray(last.content) &&
      last.content.some((b: { type: string }) => b.type === 'tool_result' && JSON.stringify(b).includes(needle))
    );
  });

describe('Claude Code in a microVM through HarnessAgent', () => {
  let first: Awaited<ReturnType<typeof firstTurn>> | undefined;
  // Tests 4 and 6 continue test 1's session. A rerun of this file after its test VM died skips test 1
  // if it had passed; they then start that session themselves, forked from the published template.
  const firstSession = async () => (first ??= await firstTurn('first', 'note-1.txt', 'hello-1'));

  // A cold first turn includes the adapter's bootstrap and the template's snapshot: minutes under
  // emulation, so it gets a wider safety net than the other tests.
  it('1. a first turn: the tool result reaches the model API, the file is in the guest, the agent returns the scripted text', { timeout: 1_500_000 }, async () => {
    const cold = await firstTurn('cold', 'note-1.txt', 'hello-1');
    first = cold;
    expect(cold.result.text).toContain('Created note-1.txt: hello-1');

    const withResult = toolResultRequest('hello-1');
    expect(withResult, 'the fake API never received the Bash tool result').toBeDefined();
    // The credentials the adapter was given arrived, and only through the fake API.
    expect(withResult!.headers['x-api-key']).toBe(FAKE_KEY);
    for (const r of api.requests.filter((r) => r.url.startsWith('/v1/'))) expect(r.headers['x-api-key']).toBe(FAKE_KEY);

    const sandbox = sandboxOf(cold.session);
    const workDir = `${sandbox.defaultWorkingDirectory}/claude-code-${cold.sessionId}`;
    expect(await sandbox.readTextFile({ path: `${workDir}/note-1.txt` })).toBe('hello-1\n');
    // The bootstrap and the turn ran unprivileged: the bridge, the file its Bash tool wrote, no IS_SANDBOX.
    const [pid] = await bridgePids(sandbox);
    const who = await sandbox.run({ command: `id -u; stat -c %u /proc/${pid} ${workDir}/note-1.txt; tr '\\0' '\\n' < /proc/${pid}/environ | grep -c '^IS_SANDBOX=' || true` });
    expect(who.stdout.split('\n').filter(Boolean)).toEqual(['1000', '1000', '1000', '0']);
    // A retried try forks from the template the first try published (it bootstraps again only if the
    // first died before publishing). A rerun of the file after its test VM died forks from the
    // template an earlier attempt published, if one got that far.
    if (!rerun) expect(bootstraps).toBeGreaterThanOrEqual(1);
    bootstrapsAfterFirst = bootstraps;
  });

  it('6. the credentials the adapter sent reach the fake API, and the guest holds them only where the adapter put them', async () => {
    const { session } = await firstSession();
    const sandbox = sandboxOf(session);
    // Every model request carried exactly the key the adapter was configured with.
    const modelRequests = api.requests.filter((r) => r.url.startsWith('/v1/'));
    expect(modelRequests.length).toBeGreaterThan(0);
    for (const r of modelRequests) expect(r.headers['x-api-key']).toBe(FAKE_KEY);
    // The adapter (1.0.41) passes the key in the bridge's spawn env, and there only: not in the
    // guest's default environment, and not written to disk by us.
    const pids = await bridgePids(sandbox);
    expect(pids).toHaveLength(1);
    const env = await sandbox.run({ command: `tr '\\0' '\\n' < /proc/${pids[0]}/environ | grep -c '^ANTHROPIC_API_KEY=' ; env | grep -c '^ANTHROPIC_API_KEY=' || true` });
    expect(env.stdout).toBe('1\n0\n');
    const onDisk = await sandbox.run({
      command: 'grep -rlF -- "$NEEDLE" /workspace /root /tmp /etc 2>/dev/null | head -5 || true',
      env: { NEEDLE: FAKE_KEY },
    });
    expect(onDisk.stdout).toBe('');
  });

  it('2. a second session of the same identity forks from the template: no second bootstrap, and it starts faster', async () => {
    const second = await firstTurn('forked', 'note-2.txt', 'hello-2');
    const sandbox = sandboxOf(second.session);
    const name = sandbox.id;
    try {
      expect(second.result.text).toContain('Created note-2.txt: hello-2');
      expect(toolResultRequest('hello-2')).toBeDefined();
      expect(await sandbox.readTextFile({ path: `${sandbox.defaultWorkingDirectory}/claude-code-${second.sessionId}/note-2.txt` })).toBe(
        'hello-2\n',
      );
      // The fork is its own machine: no other session's directory is there.
      const dirs = await sandbox.run({ command: `cd ${sandbox.defaultWorkingDirectory} && ls -d claude-code-*` });
      expect(dirs.stdout.split('\n').filter(Boolean)).toEqual([`claude-code-${second.sessionId}`]);
      expect(bootstraps).toBe(bootstrapsAfterFirst);
      // (In a rerun whose first session forked too, there is no cold create to compare with.)
      if (bootstrapsAfterFirst > 0) expect(timings['forked.createSession']).toBeLessThan(timings['cold.createSession']);
    } finally {
      expect(ourSandboxes()).toContain(name);
      await second.session.destroy();
      live.delete(second.session);
    }
    expectNothingLeft(name);
  });

  // After a stop the adapter first tries to reattach to the old bridge, for its whole startupTimeoutMs
  // (the bridge is gone with the stopped microVM), and only then starts a new one: on top of a cold
  // boot and a turn, that needs more than the default safety net under emulation.
  it('4. stop, then resume: the disk survives and the agent continues the same conversation', { timeout: 1_200_000 }, async () => {
    const earlier = await firstSession();
    const name = sandboxOf(earlier.session).id;
    const state = await earlier.session.stop();
    live.delete(earlier.session);
    stopped.add(earlier.sessionId);
    expect(ourSandboxes()).toContain(name); // stopped, not removed

    const before = api.agentRequests().length;
    const t0 = Date.now();
    const resumed = await agent.createSession({ sessionId: earlier.sessionId, resumeFrom: state });
    live.add(resumed);
    stopped.delete(earlier.sessionId);
    timings['resumed.createSession'] = Date.now() - t0;
    const sandbox = sandboxOf(resumed);
    try {
      expect(sandbox.id).toBe(name);
      const workDir = `${sandbox.defaultWorkingDirectory}/claude-code-${earlier.sessionId}`;
      expect(await sandbox.readTextFile({ path: `${workDir}/note-1.txt` })).toBe('hello-1\n');

      const result = await agent.generate({ session: resumed, prompt: 'Please create note-3.txt containing hello-3' });
      timings['resumed.firstAnswer'] = Date.now() - t0;
      expect(result.text).toContain('Created note-3.txt: hello-3');
      expect(await sandbox.readTextFile({ path: `${workDir}/note-3.txt` })).toBe('hello-3\n');
      expect(bootstraps).toBe(bootstrapsAfterFirst);
      // The CLI continued its thread: the new turn's requests carry the first turn's messages.
      const newRequests = api.agentRequests().slice(before);
      expect(newRequests.length).toBeGreaterThan(0);
      expect(newRequests.some((r) => JSON.stringify(r.body.messages).includes('hello-1'))).toBe(true);
    } finally {
      await resumed.destroy();
      live.delete(resumed);
    }
    // 5. destroy after a resume leaves nothing either.
    expectNothingLeft(name);
  });

  it('3. detach in one process, resume in another: the same bridge (attach, not rerun) continues the conversation', async () => {
    const sessionId = `detached-${randomUUID().slice(0, 8)}`;
    const child = join(import.meta.dirname, '../support/agent-child.mjs');
    const t0 = Date.now();
    const { stdout } = await run(
      process.execPath,
      [child, harnessImage(), String(api.port), runId, sessionId, 'note-c1.txt', 'hello-c1'],
      { timeout: 600_000, env: { ...process.env, FAKE_ANTHROPIC_KEY: FAKE_KEY } },
    ).catch((e) => {
      // Its stdout holds the bridge token: say only whether it got as far as printing the state.
      const printed = /"state"/.test(String(e.stdout ?? ''));
      throw new Error(
        `the first process failed (${e.signal ?? `exit ${e.code}`}) ${printed ? 'after' : 'before'} detaching; its stderr ends with:\n${String(e.stderr ?? '').slice(-2000)}`,
      );
    });
    timings['child.firstAnswer'] = Date.now() - t0;
    // stdout carries the resume state with the bridge token: parsed, never logged.
    const fromChild = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(fromChild.text).toContain('Created note-c1.txt: hello-c1');
    expect(fromChild.pids).toHaveLength(1);
    stopped.add(sessionId); // cleanup path if anything below fails

    const before = api.agentRequests().length;
    const resumed = await agent.createSession({ sessionId, resumeFrom: fromChild.state });
    live.add(resumed);
    stopped.delete(sessionId);
    const sandbox = sandboxOf(resumed);
    try {
      expect(sandbox.id).toBe(fromChild.name);
      expect(await bridgePids(sandbox)).toEqual(fromChild.pids); // attached to the running bridge
      const result = await agent.generate({ session: resumed, prompt: 'Please create note-c2.txt containing hello-c2' });
      expect(result.text).toContain('Created note-c2.txt: hello-c2');
      expect(await bridgePids(sandbox)).toEqual(fromChild.pids);
      const newRequests = api.agentRequests().slice(before);
      expect(newRequests.some((r) => JSON.stringify(r.body.messages).includes('hello-c1'))).toBe(true);
      const workDir = `${sandbox.defaultWorkingDirectory}/claude-code-${sessionId}`;
      expect(await sandbox.readTextFile({ path: `${workDir}/note-c2.txt` })).toBe('hello-c2\n');
      expect(bootstraps).toBe(bootstrapsAfterFirst); // the child forked from the same template
    } finally {
      await resumed.destroy();
      live.delete(resumed);
    }
    expectNothingLeft(fromChild.name);
  });

  it('7. today\'s shape: createSession({ sandboxSession }) from createMicrosandboxNetworkSandboxSession({ template }) starts from the template, and another process resumes it by sandboxId and continues', { timeout: 1_200_000 }, async () => {
    // The identity HarnessAgent gave the provider for this configuration (upstream's
    // agent.getSandboxTemplate() computes the same one); the settings are the provider's, so the
    // session starts from the template test 1 bootstrapped.
    if (identities.length === 0) await firstSession();
    const sandboxId = `today-${randomUUID().slice(0, 8)}`;
    const sessionId = `today-session-${randomUUID().slice(0, 8)}`;
    const t0 = Date.now();
    const sandboxSession = await createMicrosandboxNetworkSandboxSession({
      image: harnessImage(),
      ...claudeSandboxSettings(api.port),
      template: template(identities[0]),
      sandboxId,
    });
    live.add(sandboxSession);
    timings['today.createSandboxSession'] = Date.now() - t0;
    expect(sandboxSession.id).toBe(sandboxId);
    expect(bootstraps).toBe(bootstrapsAfterFirst); // no second bootstrap

    const session = await agent.createSession({ sessionId, sandboxSession });
    const result = await agent.generate({ session, prompt: 'Please create note-t1.txt containing hello-t1' });
    timings['today.firstAnswer'] = Date.now() - t0;
    expect(result.text).toContain('Created note-t1.txt: hello-t1');
    const workDir = `${sandboxSession.defaultWorkingDirectory}/claude-code-${sessionId}`;
    expect(await sandboxSession.readTextFile({ path: `${workDir}/note-t1.txt` })).toBe('hello-t1\n');
    const pids = await bridgePids(sandboxSession);
    const state = await session.detach();

    // Another process: resume by sandboxId, hand it to the agent with the resume state.
    const stateFile = join(mkdtempSync(join(tmpdir(), 'aisdk-today-')), 'state.json');
    writeFileSync(stateFile, JSON.stringify(state), { mode: 0o600 });
    const child = join(import.meta.dirname, '../support/agent-child.mjs');
    const before = api.agentRequests().length;
    const { stdout } = await run(
      process.execPath,
      [child, 'today-resume', harnessImage(), String(api.port), runId, sandboxId, sessionId, stateFile, 'note-t2.txt', 'hello-t2'],
      { timeout: 600_000, env: { ...process.env, FAKE_ANTHROPIC_KEY: FAKE_KEY } },
    ).catch((e) => {
      throw new Error(`the resuming process failed (${e.signal ?? `exit ${e.code}`}); its stderr ends with:\n${String(e.stderr ?? '').slice(-2000)}`);
    });
    const fromChild = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(fromChild.id).toBe(sandboxId);
    expect(fromChild.text).toContain('Created note-t2.txt: hello-t2');
    expect(fromChild.pids).toEqual(pids); // attached to the running bridge
    const newRequests = api.agentRequests().slice(before);
    expect(newRequests.some((r) => JSON.stringify(r.body.messages).includes('hello-t1'))).toBe(true);

    const resumed = await resumeMicrosandboxNetworkSandboxSession({ sandboxId });
    expect(await resumed.readTextFile({ path: `${workDir}/note-t2.txt` })).toBe('hello-t2\n');
    expect(bootstraps).toBe(bootstrapsAfterFirst);
    const name = resumed.description.match(/named '([^']+)'/)?.[1] ?? '';
    await resumed.destroy();
    live.delete(sandboxSession);
    expect(name).not.toBe('');
    expectNothingLeft(name);
  });
});
