// The agent every chat talks to: Claude Code through HarnessAgent, its sandbox a microsandbox
// microVM per chat. One per server process.
import { readFileSync } from 'node:fs';
import { HarnessAgent } from '@ai-sdk/harness/agent';
import { createClaudeCode } from '@ai-sdk/harness-claude-code';
import { createMicrosandbox, type MicrosandboxCreateSettings } from 'ai-sdk-microsandbox';

// Optional JSON, for custom images and tests: more microsandbox settings (`image`, `memory`, ...),
// and Claude Code adapter settings beyond the credentials; in `<NAME>`, or in the file `<NAME>_FILE`
// names (an environment variable holds at most 128 KiB).
const json = <T>(name: string): Partial<T> => {
  const file = process.env[`${name}_FILE`];
  const text = file ? readFileSync(file, 'utf8') : process.env[name];
  return text ? JSON.parse(text) : {};
};
// A caller-chosen bootstrap hash names the agent's template: processes that give the same one (and
// the same settings) share it.
const bootstrapHash = process.env.HARNESS_BOOTSTRAP_HASH;

export const agent = new HarnessAgent({
  harness: createClaudeCode({
    // ANTHROPIC_API_KEY, and ANTHROPIC_BASE_URL for a gateway or a local fake.
    auth: { anthropic: { apiKey: process.env.ANTHROPIC_API_KEY, baseUrl: process.env.ANTHROPIC_BASE_URL } },
    ...json<Parameters<typeof createClaudeCode>[0]>('CLAUDE_CODE_SETTINGS'),
  }),
  sandbox: createMicrosandbox({
    ports: [{ host: 4000, guest: 4000 }], // the adapter's bridge listens on the first guest port
    ...json<MicrosandboxCreateSettings>('MICROSANDBOX_SETTINGS'),
  }),
  ...(bootstrapHash ? { sandboxConfig: { bootstrapHash, onBootstrap: async () => {} } } : {}),
});
