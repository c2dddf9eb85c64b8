// The real Claude Code agent, driven by HarnessAgent, editing a file in a microVM.
// Usage: node examples/claude-code.mjs [image]   (an OCI reference or a docker-save tarball)
//
// With ANTHROPIC_API_KEY set it talks to the Anthropic API (or ANTHROPIC_BASE_URL). Without a key
// it starts a local fake of the Messages API (__test__/support/fake-anthropic.mjs) that scripts one
// Bash tool call and an answer, so the whole path runs with no account: `npm run demo:agent`.
import { HarnessAgent } from '@ai-sdk/harness/agent';
import { createClaudeCode } from '@ai-sdk/harness-claude-code';
import { createMicrosandbox } from 'ai-sdk-microsandbox';

const image = process.argv[2] ?? 'node:22-bookworm-slim';
let t = Date.now();
const lap = (what) => {
  console.log(`${what} (${Date.now() - t} ms)`);
  t = Date.now();
};

let apiKey = process.env.ANTHROPIC_API_KEY;
let baseUrl = process.env.ANTHROPIC_BASE_URL;
let fake;
if (!apiKey) {
  const { startFakeAnthropic } = await import('../__test__/support/fake-anthropic.mjs');
  fake = await startFakeAnthropic();
  apiKey = 'sk-ant-fake-demo';
  // The guest reaches the host's loopback as host.microsandbox.internal, on the ports allowed below.
  baseUrl = `http://host.microsandbox.internal:${fake.port}`;
  console.log(`ANTHROPIC_API_KEY is not set: using the local fake model API on ${fake.url}`);
}

// Optional, for networks that re-sign TLS with a local CA (DEMO_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt):
// writes that bundle into the guest so its pnpm can reach the npm registry.
const ca = process.env.DEMO_CA_BUNDLE
  ? (await import('../__test__/support/host-ca.mjs')).hostCaSettings(process.env.DEMO_CA_BUNDLE)
  : { env: {}, bootstrapPreCommands: [] };

const agent = new HarnessAgent({
  harness: createClaudeCode({ auth: { anthropic: { apiKey, ...(baseUrl ? { baseUrl } : {}) } } }),
  sandbox: createMicrosandbox({
    image,
    cpus: 1,
    memory: 2048,
    ports: [{ host: 4000, guest: 4000 }], // the adapter's bridge listens on the first guest port
    allowHostPorts: fake ? [fake.port] : [],
    env: {
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', // no telemetry, error reports or update checks
      ...ca.env,
    },
    // The adapter installs Claude Code with pnpm (>= 10.26, < 11).
    bootstrapPreCommands: [...ca.bootstrapPreCommands, 'command -v pnpm >/dev/null || npm install -g pnpm@10'],
  }),
});

console.log('creating the session (the first one installs Claude Code in a template microVM: minutes)');
const session = await agent.createSession();
lap(`session ${session.sessionId} is up`);
try {
  const result = await agent.generate({
    session,
    prompt: 'Please create hello.txt containing hello-from-claude-code',
  });
  lap(`Claude Code answered: ${result.text.trim()}`);
  for (const step of result.steps) {
    for (const call of step.toolCalls) console.log(`  tool call ${call.toolName}: ${JSON.stringify(call.input)}`);
  }
  if (fake) console.log(`the fake model API received ${fake.requests.length} requests`);
} finally {
  await session.destroy();
  await fake?.close();
  lap('destroyed, nothing left running');
}
