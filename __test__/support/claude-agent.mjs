// The HarnessAgent + Claude Code + microVM configuration of __test__/integration/agents.spec.ts,
// shared with its second process (agent-child.mjs) so both build the same template identity.
import { HarnessAgent, prepareSandboxForHarness } from '@ai-sdk/harness/agent';
import { createClaudeCode } from '@ai-sdk/harness-claude-code';
import { createMicrosandbox } from '../../index.js';
import { hostCaSettings } from './host-ca.mjs';

// Claude Code's documented switches for everything but model calls (telemetry, error reporting,
// auto-update checks, non-essential model calls such as titles).
export const QUIET_CLAUDE = {
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  DISABLE_TELEMETRY: '1',
  DISABLE_ERROR_REPORTING: '1',
  DISABLE_AUTOUPDATER: '1',
  DISABLE_NON_ESSENTIAL_MODEL_CALLS: '1',
};

/**
 * @param {{ image: string, apiPort: number, apiKey: string, bootstrapHash: string, onBootstrap?: () => Promise<void> }} o
 */
export function claudeAgent({ image, apiPort, apiKey, bootstrapHash, onBootstrap = async () => {} }) {
  const provider = createMicrosandbox({ image, ...claudeSandboxSettings(apiPort) });
  // The template identity HarnessAgent computes for this configuration (today's factories take it in
  // `template`, as `agent.getSandboxTemplate()` would give it): recorded from its provider calls.
  const createSession = provider.createSession;
  provider.createSession = (options) => {
    if (options?.identity) identities.push(options.identity);
    return createSession(options);
  };
  const identities = [];
  const harness = createClaudeCode({
    auth: { anthropic: { apiKey, baseUrl: `http://host.microsandbox.internal:${apiPort}` } },
    startupTimeoutMs: 300_000, // the bridge loads slowly under emulation
  });
  // A caller bootstrap hash makes the template identity unique per test run, so the first
  // session really bootstraps; onBootstrap runs inside the provider's onFirstCreate only.
  const sandboxConfig = { bootstrapHash, onBootstrap };
  const agent = new HarnessAgent({ harness, sandbox: provider, sandboxConfig });
  /** `{ identity, prepare }` as upstream's createHarnessSandboxTemplate builds it from the adapter's recipe. */
  const template = (identity) => ({
    identity,
    prepare: ({ session, abortSignal }) =>
      prepareSandboxForHarness({ session, harnesses: [harness], sandboxConfig, abortSignal }).then(() => {}),
  });
  return { agent, provider, identities, template };
}

/** The microVM settings of the agent tests, for the provider and for today's session factories alike. */
export function claudeSandboxSettings(apiPort) {
  // TEST ENVIRONMENT ONLY (never a package default): our machines re-sign outbound TLS with a
  // local CA that only the host's bundle trusts; the guest's pnpm gets that bundle.
  const hostCa = hostCaSettings();
  const started = Date.now();
  return {
    cpus: 1, // cpus: 2 is unstable under our emulated test host
    memory: 2048,
    // The adapter's bootstrap and every turn run unprivileged (the test image's `agent`, uid 1000),
    // so Claude Code skips its permission prompts without IS_SANDBOX.
    user: 'agent',
    ports: [{ host: 4000, guest: 4000 }],
    // Egress: the default policy (the public internet, should the adapter's pnpm install need the npm
    // registry; nothing of the host) plus the fake API's port on the test host, which the guest
    // reaches as host.microsandbox.internal. (A custom policy allowing only registry.npmjs.org
    // would also shut out the real model API, but names do not resolve under it today.)
    allowHostPorts: [apiPort],
    env: { ...QUIET_CLAUDE, ...hostCa.env },
    bootstrapPreCommands: hostCa.bootstrapPreCommands,
    // Where a slow first session spends its time, in the test log.
    onProgress: ({ phase, message }) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] [${phase}] ${message}`),
  };
}

/** The network session behind an agent session (HarnessAgentSession#getSandboxSession is untyped). */
export const sandboxOf = (session) => session.getSandboxSession();

/** Pids of the adapter's bridge processes in the guest. */
export async function bridgePids(sandbox) {
  const { stdout } = await sandbox.run({ command: "pgrep -f '^node /tmp/harness/claude-code/bridge.mjs' || true" });
  return stdout.split('\n').filter(Boolean).sort();
}
