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

  // A web server in the guest: Node's where the image has it, else busybox's httpd (the demo's tiny image).
  await session.writeTextFile({ path: 'demo/www/index.html', content: 'hello from the guest' });
  const server = await session.spawn({
    command:
      'if command -v node >/dev/null; then exec node -e "require(\'http\').createServer((q, r) => r.end(\'hello from the guest\')).listen(4000)"; ' +
      'else exec httpd -f -p 4000 -h demo/www; fi',
  });
  const { url } = await session.getPortEndpoint({ port: 4000, protocol: 'http' });
  let answer;
  for (let i = 0; answer === undefined; i++) {
    answer = await fetch(url).then((r) => r.text()).catch((err) => {
      if (i === 50) throw err;
      return new Promise((r) => setTimeout(r, 200));
    });
  }
  lap(`guest server on ${url} answers: ${answer}`);
  await server.kill();
} finally {
  await session.destroy();
  lap('destroyed, nothing left running');
}
