// A demo session in a real microVM: the calls HarnessAgent makes on a sandbox session, by hand.
// Usage: node examples/demo.mjs [image]   (an OCI reference or a docker-save tarball)
import { createMicrosandboxNetworkSandboxSession } from 'ai-sdk-microsandbox';

let t = Date.now();
const lap = (what) => {
  console.log(`${what} (${Date.now() - t} ms)`);
  t = Date.now();
};

const session = await createMicrosandboxNetworkSandboxSession({
  ...(process.argv[2] ? { image: process.argv[2] } : {}),
  cpus: 1,
  memory: 1024,
  ports: [4000],
  onProgress: ({ phase, message }) => console.log(`  [${phase}] ${message}`),
});
lap(`microVM ${session.id} is up, working directory ${session.defaultWorkingDirectory}`);
try {
  const hello = await session.run({ command: 'echo hello from $(uname -sr)' });
  lap(`run: ${hello.stdout.trim()}`);

  await session.writeTextFile({ path: 'demo/greeting.txt', content: 'files stay in the microVM\n' });
  lap(`file round trip: ${(await session.readTextFile({ path: 'demo/greeting.txt' })).trim()}`);

  const server = await session.spawn({
    command: `node -e "require('http').createServer((q, r) => r.end('hello from the guest')).listen(4000, () => console.log('ready'))"`,
  });
  const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  await reader.read();
  reader.releaseLock();
  const { url } = await session.getPortEndpoint({ port: 4000, protocol: 'http' });
  lap(`guest server on ${url} answers: ${await (await fetch(url)).text()}`);
  await server.kill();
} finally {
  await session.destroy();
  lap('destroyed, nothing left running');
}
