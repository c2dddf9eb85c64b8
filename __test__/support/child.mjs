// A second process for the cross-process tests. Usage:
//   node child.mjs bootstrap <image> <identity> <counterFile> [hang]
//     createSession({ identity, onFirstCreate }) where onFirstCreate appends to counterFile
//     (and with `hang`, never finishes: the parent kills this process mid-bootstrap).
//   node child.mjs fork-and-hang <image> <identity> <counterFile> <idleTimeoutMs>
//     creates a session without a sessionId, forked from the identity's template, prints
//     {"id": ...} and waits forever (the parent kills this process).
//   node child.mjs create <image> <sessionId>
//     creates a session with that id and waits forever (the parent kills this process mid-create).
//   node child.mjs detach <image> <sessionId>
//     creates the session, starts a guest server on port 4000, writes a file, prints
//     {"url": ...} and exits without stopping anything (a detach).
//   node child.mjs resume <image> <sessionId>
//     resumes the session, prints {"id", "url", "file"} (port 4000's URL, the content of
//     pooled.txt) and exits without stopping anything.
//   node child.mjs pool <image> <identity> <sessionId> [hang]
//     with `warmPool: { size: 1 }`, creates the session, waits until the pool holds a microVM,
//     prints {"id": ...}, then lets the event loop run out (or, with `hang`, waits to be killed).
import { appendFileSync } from 'node:fs';
import { createMicrosandbox } from '../../index.js';

const [mode, image, arg, counterFile, hang] = process.argv.slice(2);
const provider = createMicrosandbox({
  image,
  ports: [{ host: 4000, guest: 4000 }],
  ...(mode === 'fork-and-hang' ? { idleTimeoutMs: Number(hang) } : {}),
  ...(mode === 'pool' ? { warmPool: { size: 1 } } : {}),
});

if (mode === 'bootstrap') {
  const session = await provider.createSession({
    identity: arg,
    onFirstCreate: async (s) => {
      appendFileSync(counterFile, `${process.pid}\n`);
      await s.writeTextFile({ path: '/opt/bootstrapped-by', content: String(process.pid) });
      if (hang) {
        console.log(JSON.stringify({ bootstrapping: true }));
        await new Promise(() => {});
      }
    },
  });
  const marker = await session.readTextFile({ path: '/opt/bootstrapped-by' });
  console.log(JSON.stringify({ id: session.id, marker }));
  await session.destroy();
} else if (mode === 'create') {
  await provider.createSession({ sessionId: arg });
  console.log(JSON.stringify({ created: true }));
  setInterval(() => {}, 60_000); // stay alive until the parent kills this process
} else if (mode === 'fork-and-hang') {
  const session = await provider.createSession({
    identity: arg,
    onFirstCreate: async () => appendFileSync(counterFile, `${process.pid}\n`),
  });
  console.log(JSON.stringify({ id: session.id }));
  setInterval(() => {}, 60_000); // stay alive until the parent kills this process
} else if (mode === 'detach') {
  // Steps go to stderr, so a parent that times out this process can tell where it was.
  const started = Date.now();
  const step = (what) => console.error(`[child ${Date.now() - started} ms] ${what}`);
  const session = await provider.createSession({ sessionId: arg });
  step(`created ${session.id}`);
  await session.writeTextFile({ path: 'from-a.txt', content: `written by ${process.pid}` });
  step('file written');
  const server = await session.spawn({
    command: `node -e "require('http').createServer((q,r)=>r.end('still here')).listen(4000,()=>console.log('up'))"`,
  });
  const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  step(`server says ${JSON.stringify((await reader.read()).value)}`);
  const { url } = await session.getPortEndpoint({ port: 4000, protocol: 'http' });
  console.log(JSON.stringify({ url, id: session.id }));
  process.exit(0);
} else if (mode === 'resume') {
  const session = await provider.resumeSession({ sessionId: arg });
  const { url } = await session.getPortEndpoint({ port: 4000, protocol: 'http' });
  console.log(JSON.stringify({ id: session.id, url, file: await session.readTextFile({ path: 'pooled.txt' }) }));
  process.exit(0);
} else if (mode === 'pool') {
  const session = await provider.createSession({ sessionId: counterFile, identity: arg, onFirstCreate: async () => {} });
  while (provider.warmPoolStatus().ready < 1) await new Promise((r) => setTimeout(r, 500));
  console.log(JSON.stringify({ id: session.id }));
  if (hang) setInterval(() => {}, 60_000); // stay alive until the parent kills this process
}
