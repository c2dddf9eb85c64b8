// `npm run demo:chat`: starts the app for a person, against the Anthropic API when
// ANTHROPIC_API_KEY is set, else against a local fake of the Messages API
// (__test__/support/fake-anthropic.mjs: it scripts one Bash call and an answer per prompt
// `create <file> containing <word>`). Prints the URL.
// Usage: node examples/next-chat/demo.mjs <image> [port]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [image, port = '3000'] = process.argv.slice(2);
const env = { ...process.env };
const settings = { image, cpus: 1, memory: 2048, env: { CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' } };
if (!env.ANTHROPIC_API_KEY) {
  const { startFakeAnthropic } = await import('../../__test__/support/fake-anthropic.mjs');
  const fake = await startFakeAnthropic();
  env.ANTHROPIC_API_KEY = 'sk-ant-fake-demo';
  // The guest reaches the host's loopback as host.microsandbox.internal, on the ports allowed.
  env.ANTHROPIC_BASE_URL = `http://host.microsandbox.internal:${fake.port}`;
  settings.allowHostPorts = [fake.port];
  console.log(`ANTHROPIC_API_KEY is not set: using the local fake model API on ${fake.url}`);
}
// Networks that re-sign TLS with a local CA (DEMO_CA_BUNDLE): the guest's pnpm gets that bundle.
if (env.DEMO_CA_BUNDLE) {
  const { hostCaSettings } = await import('../../__test__/support/host-ca.mjs');
  const ca = hostCaSettings(env.DEMO_CA_BUNDLE);
  Object.assign(settings.env, ca.env);
  settings.bootstrapPreCommands = ca.bootstrapPreCommands;
}
// A file: the CA bundle alone is more than an environment variable may hold.
const settingsFile = join(mkdtempSync(join(tmpdir(), 'next-chat-demo-')), 'microsandbox-settings.json');
writeFileSync(settingsFile, JSON.stringify(settings), { mode: 0o600 });
env.MICROSANDBOX_SETTINGS_FILE = settingsFile;
env.CLAUDE_CODE_SETTINGS = JSON.stringify({ startupTimeoutMs: 300_000 });
const app = fileURLToPath(new URL('.', import.meta.url));
// The loopback only: the page drives an agent. Inside the QEMU test VM (where KVM cannot boot
// microVMs) the host reaches it through the VM's forwarded port, so it listens on the VM's interfaces.
const host = process.env.AI_SDK_MICROSANDBOX_VMHOST === '1' ? '0.0.0.0' : '127.0.0.1';
const server = spawn(`${app}node_modules/.bin/next`, ['start', '-p', port, '-H', host], { cwd: app, env, stdio: 'inherit' });
console.log(`open http://localhost:${port} (the first message of the first chat bootstraps the agent's template: minutes)`);
process.on('SIGINT', () => server.kill('SIGINT'));
server.on('exit', (code) => {
  rmSync(dirname(settingsFile), { recursive: true, force: true });
  process.exit(code ?? 0);
});
