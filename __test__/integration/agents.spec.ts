// The real coding agents end to end, in real microVMs: HarnessAgent from @ai-sdk/harness with the
// published @ai-sdk/harness-claude-code adapter (issue #11), and the Codex adapter with its own harness
// from the vendored pair in __test__/fixtures/codex (issue #25), both unmodified. Each adapter's own
// bootstrap runs in the guest: it writes its bridge and runs its `pnpm install` (the harness test image
// carries the result of that same command, so it finds everything up to date: scripts/images); Claude
// Code's also runs its installer and `claude --version`. The models are local fakes of the Anthropic
// Messages API and the OpenAI Responses API (__test__/support/fake-anthropic.mjs, fake-openai.mjs).
// The last part drives the useChat example app (examples/next-chat) in a real headless Chromium.
// One file, so all share one test VM, and the app's sessions fork from the Claude Code template.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MicrosandboxSession } from '../../index.js';
import {
  createMicrosandboxNetworkSandboxSession,
  prepareMicrosandboxSandboxTemplate,
  resumeMicrosandboxNetworkSandboxSession,
} from '../../index.js';
import { bridgePids, claudeAgent, claudeSandboxSettings, sandboxOf as sandboxOfUntyped } from '../support/claude-agent.mjs';
import { harnessImage, ourSandboxes } from '../support/env.js';
import { startFakeAnthropic } from '../support/fake-anthropic.mjs';
import { startFakeOpenAI } from '../support/fake-openai.mjs';
import { bridgePids as codexBridgePids, codexAgent, sandboxOf as codexSandboxOf } from '../fixtures/codex/codex-agent.mjs';

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
  // The harness image (about 1 GB: Claude Code and the Codex CLI) is loaded once per machine. On a new
  // one that takes over 20 minutes under emulation, which no test's own time should include.
  const t0 = Date.now();
  await prepareMicrosandboxSandboxTemplate({ image: harnessImage() });
  timings['harnessImage.ready'] = Date.now() - t0;
  api = await startFakeAnthropic({ host: '127.0.0.1' });
  ({ agent, provider, identities, template } = claudeAgent({
    image: harnessImage(),
    apiPort: api.port,
    apiKey: FAKE_KEY,
    bootstrapHash: runId,
    onBootstrap: async () => void bootstraps++,
  }));
}, 3_000_000);

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

describe('Codex in a microVM through HarnessAgent', () => {
  // A key the fake API expects; worthless anywhere else. Never a real credential.
  const FAKE_OPENAI_KEY = `sk-fake-openai-${randomUUID()}`;
  let openai: Awaited<ReturnType<typeof startFakeOpenAI>>;
  let codex: ReturnType<typeof codexAgent>;
  let codexBootstraps = 0;
  let codexBootstrapsAfterFirst = 0;
  const codexTimings: Record<string, number> = {};
  const bootstrapHash = `codex-${runId}`;

  beforeAll(async () => {
    openai = await startFakeOpenAI({ host: '127.0.0.1' });
    codex = codexAgent({
      image: harnessImage(),
      apiPort: openai.port,
      apiKey: FAKE_OPENAI_KEY,
      bootstrapHash,
      onBootstrap: async () => void codexBootstraps++,
      onProgress: ({ phase, message }: { phase: string; message: string }) => console.log(`[codex] [${phase}] ${message}`),
    });
  });

  afterAll(async () => {
    console.log(`codex timings (ms): ${JSON.stringify(codexTimings)}`);
    await openai?.close();
  });

  /** createSession + one generate, timed. */
  async function codexTurn(label: string, file: string, word: string) {
    const sessionId = `codex-${label}-${randomUUID().slice(0, 8)}`;
    const t0 = Date.now();
    const session = await codex.agent.createSession({ sessionId });
    live.add(session);
    const created = Date.now();
    const result = await codex.agent.generate({ session, prompt: `Please create ${file} containing ${word}` });
    const answered = Date.now();
    codexTimings[`${label}.createSession`] = created - t0;
    codexTimings[`${label}.firstTurn`] = answered - created;
    codexTimings[`${label}.firstAnswer`] = answered - t0;
    console.log(`codex ${label}: createSession ${created - t0} ms, first turn ${answered - created} ms, first answer ${answered - t0} ms`);
    return { session, result, sessionId, sandbox: codexSandboxOf(session) as MicrosandboxSession };
  }

  /** The agent-loop request whose newest input item is a shell call's output containing `needle`. */
  const shellOutputRequest = (needle: string) =>
    openai.agentRequests().find((r) => {
      const last = r.body.input?.at(-1);
      return last?.type === 'function_call_output' && JSON.stringify(last).includes(needle);
    });

  it('C1. a first turn: the real Codex CLI calls its shell tool, the output reaches the model API, the file is in the guest', { timeout: 1_500_000 }, async () => {
    const cold = await codexTurn('cold', 'cx-1.txt', 'codex-1');
    try {
      expect(cold.result.text).toContain('Created cx-1.txt');
      expect(cold.result.text).toContain('codex-1');
      const withOutput = shellOutputRequest('codex-1');
      expect(withOutput, 'the fake API never received the shell output').toBeDefined();
      // Every model request carried exactly the key the adapter was configured with.
      for (const r of openai.requests) expect(r.headers.authorization).toBe(`Bearer ${FAKE_OPENAI_KEY}`);
      const workDir = `${cold.sandbox.defaultWorkingDirectory}/codex-${cold.sessionId}`;
      expect(await cold.sandbox.readTextFile({ path: `${workDir}/cx-1.txt` })).toBe('codex-1\n');
      // The bootstrap and the turn ran unprivileged: the bridge and the file its shell wrote.
      const [pid] = await codexBridgePids(cold.sandbox);
      const who = await cold.sandbox.run({ command: `id -u; stat -c %u /proc/${pid} ${workDir}/cx-1.txt` });
      expect(who.stdout.split('\n').filter(Boolean)).toEqual(['1000', '1000', '1000']);
      if (!rerun) expect(codexBootstraps).toBeGreaterThanOrEqual(1);
      codexBootstrapsAfterFirst = codexBootstraps;
    } finally {
      await cold.session.destroy();
      live.delete(cold.session);
    }
  });

  it('C2. a second session of the same identity forks from the template: no second bootstrap, and it starts faster', { timeout: 900_000 }, async () => {
    const forked = await codexTurn('forked', 'cx-2.txt', 'codex-2');
    const name = forked.sandbox.id;
    try {
      expect(forked.result.text).toContain('Created cx-2.txt');
      expect(shellOutputRequest('codex-2')).toBeDefined();
      const workDir = `${forked.sandbox.defaultWorkingDirectory}/codex-${forked.sessionId}`;
      expect(await forked.sandbox.readTextFile({ path: `${workDir}/cx-2.txt` })).toBe('codex-2\n');
      expect(codexBootstraps).toBe(codexBootstrapsAfterFirst);
      if (codexBootstrapsAfterFirst > 0) expect(codexTimings['forked.createSession']).toBeLessThan(codexTimings['cold.createSession']);
    } finally {
      await forked.session.destroy();
      live.delete(forked.session);
    }
    expectNothingLeft(name);
  });

  it('C3. detach in one process, resume in another: the same bridge continues the thread', { timeout: 1_200_000 }, async () => {
    const sessionId = `codex-detached-${randomUUID().slice(0, 8)}`;
    const child = join(import.meta.dirname, '../fixtures/codex/codex-agent.mjs');
    stopped.add(sessionId); // the child's session, removed at the end if anything below fails
    const t0 = Date.now();
    const { stdout } = await run(
      process.execPath,
      [child, harnessImage(), String(openai.port), bootstrapHash, sessionId, 'cx-c1.txt', 'codex-c1'],
      { timeout: 900_000, env: { ...process.env, FAKE_OPENAI_KEY } },
    ).catch((e) => {
      // Its stdout holds the bridge token: say only whether it got as far as printing the state.
      const printed = /"state"/.test(String(e.stdout ?? ''));
      throw new Error(
        `the first process failed (${e.signal ?? `exit ${e.code}`}) ${printed ? 'after' : 'before'} detaching; its stderr ends with:\n${String(e.stderr ?? '').slice(-2000)}`,
      );
    });
    codexTimings['child.firstAnswer'] = Date.now() - t0;
    // stdout carries the resume state with the bridge token: parsed, never logged.
    const fromChild = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(fromChild.text).toContain('Created cx-c1.txt');
    expect(fromChild.pids).toHaveLength(1);

    const before = openai.agentRequests().length;
    const resumed = await codex.agent.createSession({ sessionId, resumeFrom: fromChild.state });
    live.add(resumed);
    stopped.delete(sessionId);
    const sandbox = codexSandboxOf(resumed) as MicrosandboxSession;
    try {
      expect(sandbox.id).toBe(fromChild.name);
      expect(await codexBridgePids(sandbox)).toEqual(fromChild.pids); // attached to the running bridge
      const result = await codex.agent.generate({ session: resumed, prompt: 'Please create cx-c2.txt containing codex-c2' });
      expect(result.text).toContain('Created cx-c2.txt');
      // Codex resumed its thread: the new turn's requests carry the first turn's conversation.
      const newRequests = openai.agentRequests().slice(before);
      expect(newRequests.some((r) => JSON.stringify(r.body.input).includes('codex-c1'))).toBe(true);
      const workDir = `${sandbox.defaultWorkingDirectory}/codex-${sessionId}`;
      expect(await sandbox.readTextFile({ path: `${workDir}/cx-c2.txt` })).toBe('codex-c2\n');
      expect(codexBootstraps).toBe(codexBootstrapsAfterFirst); // the child forked from the same template
    } finally {
      await resumed.destroy();
      live.delete(resumed);
    }
    expectNothingLeft(fromChild.name);
  });
});

describe('The useChat example (examples/next-chat) in a real browser', () => {
  const app = join(import.meta.dirname, '../../examples/next-chat');
  const artifacts = join(import.meta.dirname, '../../test-artifacts');
  let server: ChildProcess | undefined;
  let url = '';
  const serverLog: string[] = [];
  const chatIds: string[] = [];
  const chatData = mkdtempSync(join(tmpdir(), 'aisdk-chats-'));

  beforeAll(async () => {
    // Built by scripts/test.sh before the test VM starts (scripts/next-chat.sh).
    expect(existsSync(join(app, '.next/BUILD_ID')), 'examples/next-chat is not built: bash scripts/next-chat.sh build').toBe(true);
    const { onProgress: _, ...settings } = claudeSandboxSettings(api.port);
    // A file: the host CA bundle in the settings is more than an environment variable may hold.
    const settingsFile = join(chatData, 'microsandbox-settings.json');
    writeFileSync(settingsFile, JSON.stringify({ image: harnessImage(), ...settings }), { mode: 0o600 });
    // A free port: the one the OS gives a listener, closed again.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    server = spawn(join(app, 'node_modules/.bin/next'), ['start', '-p', String(port), '-H', '127.0.0.1'], {
      cwd: app,
      env: {
        ...process.env,
        ANTHROPIC_API_KEY: FAKE_KEY,
        ANTHROPIC_BASE_URL: `http://host.microsandbox.internal:${api.port}`,
        // The agent tests' settings and bootstrap hash: the app's chats fork from their template.
        MICROSANDBOX_SETTINGS_FILE: settingsFile,
        CLAUDE_CODE_SETTINGS: JSON.stringify({ startupTimeoutMs: 300_000 }),
        HARNESS_BOOTSTRAP_HASH: runId,
        CHAT_DATA_DIR: chatData,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [server.stdout!, server.stderr!]) stream.on('data', (d) => serverLog.push(String(d)));
    url = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const up = await fetch(url, { redirect: 'manual' }).then(() => true, () => false);
      if (up) break;
      if (i > 240 || server.exitCode !== null) throw new Error(`next start did not come up:\n${serverLog.join('').slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }, 300_000);

  afterAll(async () => {
    server?.kill('SIGTERM');
    rmSync(chatData, { recursive: true, force: true });
    // The chats' microVMs: resumed by id and removed.
    for (const id of chatIds) await provider.resumeSession({ sessionId: id }).then((s) => s.destroy()).catch(() => {});
  });

  it('a prompt typed in the page streams the answer and the tool call; after a reload the conversation is there and continues in the same microVM', { timeout: 1_500_000 }, async () => {
    const { default: puppeteer } = await import('puppeteer-core');
    mkdirSync(artifacts, { recursive: true });
    const browser = await puppeteer.launch({
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      headless: true,
      // Root in a test VM: Chromium's own sandbox needs user namespaces it does not get there.
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
      protocolTimeout: 900_000,
    });
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(900_000);
      await page.goto(url);
      const chatId = new URL(page.url()).searchParams.get('id')!;
      expect(chatId).toMatch(/^[0-9a-f-]{36}$/);
      chatIds.push(chatId);
      const ask = async (prompt: string, answer: string) => {
        const before = await page.$$eval('[data-testid=message-assistant]', (els) => els.length);
        await page.type('input[name=prompt]', prompt);
        await page.keyboard.press('Enter');
        await page.waitForFunction(
          (n, text) => {
            const answers = document.querySelectorAll('[data-testid=message-assistant]');
            return answers.length > n && answers[answers.length - 1].textContent!.includes(text);
          },
          {},
          before,
          answer,
        );
        // The stream is over when the form takes input again.
        await page.waitForSelector('button[data-status=ready]');
      };
      const t0 = Date.now();
      await ask('Please create chat-1.txt containing hello-chat1', 'Created chat-1.txt: hello-chat1');
      console.log(`next-chat: first answer in the browser after ${Date.now() - t0} ms`);
      // The tool call and its result, as useChat rendered them.
      const tools = await page.$$eval('[data-testid=tool-call]', (els) => els.map((e) => e.textContent));
      expect(tools.some((t) => t!.includes('hello-chat1') && /bash/i.test(t!))).toBe(true);
      await page.screenshot({ path: join(artifacts, 'next-chat-first-turn.png'), fullPage: true });

      // The server saves the turn when its stream ends.
      const saved = join(chatData, `${chatId}.json`);
      for (let i = 0; !existsSync(saved) && i < 120; i++) await new Promise((r) => setTimeout(r, 500));
      expect(existsSync(saved), 'the app did not save the chat after its turn').toBe(true);
      await page.reload();
      expect(new URL(page.url()).searchParams.get('id')).toBe(chatId);
      const restored = await page.$$eval('[data-testid=message-assistant]', (els) => els.map((e) => e.textContent));
      expect(restored.at(-1)).toContain('Created chat-1.txt: hello-chat1');
      const before = api.agentRequests().length;
      await ask('Please create chat-2.txt containing hello-chat2', 'Created chat-2.txt: hello-chat2');
      await page.screenshot({ path: join(artifacts, 'next-chat-after-reload.png'), fullPage: true });
      // The same Claude Code conversation: the new turn's requests carry the first turn's messages.
      expect(api.agentRequests().slice(before).some((r) => JSON.stringify(r.body.messages).includes('hello-chat1'))).toBe(true);
      // And the same microVM: both files are in the chat's working directory.
      const sandbox = (await provider.resumeSession({ sessionId: chatId })) as MicrosandboxSession;
      const workDir = `${sandbox.defaultWorkingDirectory}/claude-code-${chatId}`;
      expect(await sandbox.readTextFile({ path: `${workDir}/chat-1.txt` })).toBe('hello-chat1\n');
      expect(await sandbox.readTextFile({ path: `${workDir}/chat-2.txt` })).toBe('hello-chat2\n');
    } finally {
      await browser.close();
    }
  });
});
