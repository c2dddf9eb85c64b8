// The real Claude Code agent in a microVM against the real Anthropic API: `npm run test:e2e` with
// ANTHROPIC_API_KEY set (and ANTHROPIC_BASE_URL for a proxy). Without a key it is skipped; CI runs
// the same path against a local fake of the API (__test__/integration/agents.spec.ts).
import { randomUUID } from 'node:crypto';
import { HarnessAgent } from '@ai-sdk/harness/agent';
import { createClaudeCode } from '@ai-sdk/harness-claude-code';
import { describe, expect, it } from 'vitest';
import { createMicrosandbox } from '../../index.js';
import { harnessImage } from '../support/env.js';
import { hostCaSettings } from '../support/host-ca.mjs';
import { QUIET_CLAUDE, sandboxOf } from '../support/claude-agent.mjs';

const apiKey = process.env.ANTHROPIC_API_KEY;
if (!apiKey) console.log('ANTHROPIC_API_KEY is not set: the real-API agent test is skipped (CI runs the fake-API one)');

describe.skipIf(!apiKey)('Claude Code in a microVM against the real Anthropic API', () => {
  it('edits a file in the guest through its Bash tool and answers', { timeout: 1_800_000 }, async () => {
    const hostCa = hostCaSettings(); // test machines only: their TLS is re-signed by a local CA
    const baseUrl = process.env.ANTHROPIC_BASE_URL;
    const agent = new HarnessAgent({
      harness: createClaudeCode({ auth: { anthropic: { apiKey: apiKey!, ...(baseUrl ? { baseUrl } : {}) } }, startupTimeoutMs: 300_000 }),
      sandbox: createMicrosandbox({
        image: harnessImage(),
        cpus: 1,
        memory: 2048,
        ports: [{ host: 4000, guest: 4000 }],
        env: { ...QUIET_CLAUDE, ...hostCa.env },
        bootstrapPreCommands: hostCa.bootstrapPreCommands,
      }),
      sandboxConfig: { bootstrapHash: `e2e-${randomUUID()}` },
    });
    const session = await agent.createSession();
    try {
      const marker = `e2e-${randomUUID().slice(0, 8)}`;
      const result = await agent.generate({
        session,
        prompt: `Use the Bash tool to run exactly: echo ${marker} > e2e.txt   Then reply with the single word DONE.`,
      });
      const sandbox = sandboxOf(session);
      // The adapter runs Claude Code in a directory of its own per session.
      const workDir = `${sandbox.defaultWorkingDirectory}/claude-code-${session.sessionId}`;
      const written = await sandbox.readTextFile({ path: `${workDir}/e2e.txt` });
      expect(written.trim()).toBe(marker);
      expect(result.text).toMatch(/DONE/);
    } finally {
      await session.destroy();
    }
  });
});
