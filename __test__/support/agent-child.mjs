// The second process of the cross-process tests in agents.spec.ts (the fake API key comes in the
// environment, FAKE_ANTHROPIC_KEY). Prints one JSON line; it may hold a bridge token: the parent
// must not log it.
//   node agent-child.mjs <image> <apiPort> <bootstrapHash> <sessionId> <file> <word>
//     The provider shape: creates an agent session, runs one turn (`create <file> containing <word>`),
//     detaches and exits without stopping anything. Prints the resume state, the sandbox name, the
//     guest's bridge pids and the answer.
//   node agent-child.mjs today-resume <image> <apiPort> <bootstrapHash> <sandboxId> <sessionId> <stateFile> <file> <word>
//     Today's shape: resumeMicrosandboxNetworkSandboxSession({ sandboxId }), then
//     agent.createSession({ sessionId, resumeFrom, sandboxSession }) with the state in stateFile, one
//     turn, a detach. Prints the answer and the guest's bridge pids.
import { readFileSync } from 'node:fs';
import { resumeMicrosandboxNetworkSandboxSession } from '../../index.js';
import { bridgePids, claudeAgent, sandboxOf } from './claude-agent.mjs';

const args = process.argv.slice(2);
if (args[0] === 'today-resume') {
  const [, image, apiPort, bootstrapHash, sandboxId, sessionId, stateFile, file, word] = args;
  const { agent } = claudeAgent({ image, apiPort: Number(apiPort), apiKey: process.env.FAKE_ANTHROPIC_KEY, bootstrapHash });
  const sandboxSession = await resumeMicrosandboxNetworkSandboxSession({ sandboxId });
  const resumeFrom = JSON.parse(readFileSync(stateFile, 'utf8'));
  const session = await agent.createSession({ sessionId, resumeFrom, sandboxSession });
  const result = await agent.generate({ session, prompt: `Please create ${file} containing ${word}` });
  const pids = await bridgePids(sandboxSession);
  await session.detach();
  console.log(JSON.stringify({ id: sandboxSession.id, pids, text: result.text }));
} else {
  const [image, apiPort, bootstrapHash, sessionId, file, word] = args;
  const { agent } = claudeAgent({ image, apiPort: Number(apiPort), apiKey: process.env.FAKE_ANTHROPIC_KEY, bootstrapHash });
  const session = await agent.createSession({ sessionId });
  const result = await agent.generate({ session, prompt: `Please create ${file} containing ${word}` });
  const sandbox = sandboxOf(session);
  const name = sandbox.id;
  const pids = await bridgePids(sandbox);
  const state = await session.detach();
  console.log(JSON.stringify({ state, name, pids, text: result.text }));
}
process.exit(0);
