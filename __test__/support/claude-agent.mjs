// The HarnessAgent + Claude Code + microVM configuration of __test__/integration/agents.spec.ts,
// shared with its second process (agent-child.mjs) so both build the same template identity.
import { HarnessAgent } from '@ai-sdk/harness/agent';
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
  // TEST ENVIRONMENT ONLY (never a package default): our machines re-sign outbound TLS with a
  // local CA that only the host's bundle trusts; the guest's pnpm gets that bundle.
  const hostCa = hostCaSettings();
  const started = Date.now();
  const provider = createMicrosandbox({
    image,
    cpus: 1, // cpus: 2 is unstable under our emulated test host
    memory: 2048,
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
  });
  const agent = new HarnessAgent({
    harness: createClaudeCode({
      auth: { anthropic: { apiKey, baseUrl: `http://host.microsandbox.internal:${apiPort}` } },
      startupTimeoutMs: 300_000, // the bridge loads slowly under emulation
    }),
    sandbox: provider,
    // A caller bootstrap hash makes the template identity unique per test run, so the first
    // session really bootstraps; onBootstrap runs inside the provider's onFirstCreate only.
    sandboxConfig: { bootstrapHash, onBootstrap },
  });
  return { agent, provider };
}

/** The network session behind an agent session (HarnessAgentSession#getSandboxSession is untyped). */
export const sandboxOf = (session) => session.getSandboxSession();

/** Pids of the adapter's bridge processes in the guest. */
export async function bridgePids(sandbox) {
  const { stdout } = await sandbox.run({ command: "pgrep -f '^node /tmp/harness/claude-code/bridge.mjs' || true" });
  return stdout.split('\n').filter(Boolean).sort();
}
