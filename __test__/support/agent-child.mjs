// The first process of the cross-process test in agents.spec.ts. Usage (the fake API key comes in
// the environment, FAKE_ANTHROPIC_KEY):
//   node agent-child.mjs <image> <apiPort> <bootstrapHash> <sessionId> <file> <word>
// Creates an agent session, runs one turn (`create <file> containing <word>`), detaches and exits
// without stopping anything. Prints one JSON line: the resume state (it holds the bridge token: the
// parent must not log it), the sandbox name, the guest's bridge pids and the answer.
import { bridgePids, claudeAgent, sandboxOf } from './claude-agent.mjs';

const [image, apiPort, bootstrapHash, sessionId, file, word] = process.argv.slice(2);
const { agent } = claudeAgent({ image, apiPort: Number(apiPort), apiKey: process.env.FAKE_ANTHROPIC_KEY, bootstrapHash });
const session = await agent.createSession({ sessionId });
const result = await agent.generate({ session, prompt: `Please create ${file} containing ${word}` });
const sandbox = sandboxOf(session);
const name = sandbox.id;
const pids = await bridgePids(sandbox);
const state = await session.detach();
console.log(JSON.stringify({ state, name, pids, text: result.text }));
process.exit(0);
