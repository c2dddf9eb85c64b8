// The egress matrix in real microVMs: each network mode against a package registry (the positive
// control), a service on the test host's loopback, one on the test host's own non-loopback address,
// another session's published port, and DNS. Traffic goes only to this test host and to a package
// registry; rules for metadata and other private addresses are checked on the rule list in
// crates/core/src/policy.rs, never with real connections.
import { execSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HarnessCapabilityUnsupportedError } from '@ai-sdk/harness';
import {
  createMicrosandbox,
  createMicrosandboxNetworkSandboxSession,
  resumeMicrosandboxNetworkSandboxSession,
} from '../../index.js';
import type { MicrosandboxError, MicrosandboxSandboxTemplate, MicrosandboxSession, MicrosandboxSettings } from '../../index.js';
import { harnessImage } from '../support/env.js';

type Probe = { ok: boolean; status?: number; body?: string; error?: string; address?: string };
type Matrix = Record<'registry' | 'otherName' | 'hostLoopback' | 'hostAddress' | 'otherSession', Probe>;

const probeScript = readFileSync(fileURLToPath(new URL('../support/net-probe.mjs', import.meta.url)), 'utf8');
const servers: http.Server[] = [];
let targets: Record<keyof Matrix, { http?: string; dns?: string }>;
let published: MicrosandboxSession;
let loopbackPort: number;

async function serve(host: string, token: string): Promise<number> {
  const server = http.createServer((_, res) => res.end(token));
  server.listen(0, host);
  await once(server, 'listening');
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

/** The test host's own first non-loopback IPv4 address (the test VM's NIC under emulation). */
function ownAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    const found = list?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  throw new Error('this test host has no non-loopback IPv4 address');
}

async function probe(session: MicrosandboxSession, only?: Array<keyof Matrix>): Promise<Matrix> {
  await session.writeTextFile({ path: '/tmp/net-probe.mjs', content: probeScript });
  const chosen = only ? Object.fromEntries(only.map((k) => [k, targets[k]])) : targets;
  const { exitCode, stdout, stderr } = await session.run({
    command: 'node /tmp/net-probe.mjs "$TARGETS"',
    env: { TARGETS: JSON.stringify(chosen) },
  });
  expect(exitCode, stderr).toBe(0);
  const matrix = JSON.parse(stdout) as Matrix;
  console.log(JSON.stringify(matrix));
  return matrix;
}

async function withSession<T>(settings: Partial<MicrosandboxSettings>, fn: (s: MicrosandboxSession) => Promise<T>) {
  const session = await createMicrosandbox({ image: harnessImage(), memory: 1024, ...settings } as MicrosandboxSettings).createSession();
  try {
    return await fn(session);
  } finally {
    await session.destroy();
  }
}

beforeAll(async () => {
  loopbackPort = await serve('127.0.0.1', 'host-loopback-service');
  const address = ownAddress();
  const addressPort = await serve(address, 'host-address-service');
  // deny-all, with a published port: ingress must still answer from the host.
  published = await createMicrosandbox({
    image: harnessImage(),
    memory: 1024,
    networkPolicy: { mode: 'deny-all' },
    ports: [{ host: 4310, guest: 4310 }],
  }).createSession();
  await published.spawn({ command: `node -e "require('http').createServer((q, s) => s.end('published-guest-port')).listen(4310)"` });
  const publishedUrl = new URL(await published.getPortUrl({ port: 4310 }));
  targets = {
    registry: { http: 'https://registry.npmjs.org/-/ping' },
    otherName: { dns: 'pypi.org' },
    hostLoopback: { http: `http://host.microsandbox.internal:${loopbackPort}/` },
    hostAddress: { http: `http://${address}:${addressPort}/` },
    otherSession: { http: `http://host.microsandbox.internal:${publishedUrl.port}/` },
  };
});

afterAll(async () => {
  await published?.destroy();
  for (const server of servers) server.close();
});

describe('guest egress by network mode', () => {
  it('deny-all: no egress and no DNS, while its published port still answers from the host', async () => {
    let body = '';
    for (let i = 0; i < 60 && body !== 'published-guest-port'; i++) {
      body = await fetch(await published.getPortUrl({ port: 4310 }), { signal: AbortSignal.timeout(5000) })
        .then((r) => r.text())
        .catch(() => '');
      if (body !== 'published-guest-port') await new Promise((r) => setTimeout(r, 500));
    }
    expect(body).toBe('published-guest-port');
    const m = await probe(published, ['registry', 'otherName', 'hostLoopback', 'hostAddress']);
    expect(m.registry.ok).toBe(false);
    expect(m.otherName.ok).toBe(false);
    expect(m.hostLoopback.ok).toBe(false);
    expect(m.hostAddress.ok).toBe(false);
  });

  it('allow-all (and no policy): the public internet by name, nothing of the host or another session', async () => {
    const m = await withSession({ networkPolicy: { mode: 'allow-all' } }, (s) => probe(s));
    expect(m.registry).toMatchObject({ ok: true, status: 200 });
    expect(m.otherName.ok).toBe(true);
    expect(m.hostLoopback.ok).toBe(false);
    expect(m.hostAddress.ok).toBe(false);
    expect(m.otherSession.ok).toBe(false);
  });

  it('custom: only the allowed host resolves and is reached; the host stays closed', async () => {
    const m = await withSession(
      // Our test network resolves registry names to TEST-NET addresses (203.0.113.0/24), which the
      // runtime's DNS rebind protection answers only when an address rule allows them; on a normal
      // network the allowed host alone resolves.
      { networkPolicy: { mode: 'custom', allowedHosts: ['registry.npmjs.org'], allowedCIDRs: ['203.0.113.0/24'] } },
      (s) => probe(s),
    );
    expect(m.registry).toMatchObject({ ok: true, status: 200 });
    expect(m.otherName.ok).toBe(false);
    expect(m.hostLoopback.ok).toBe(false);
    expect(m.hostAddress.ok).toBe(false);
    expect(m.otherSession.ok).toBe(false);
  });

  it('allowHostPorts opens exactly the named host port, not other sessions\' published ports', async () => {
    const m = await withSession({ allowHostPorts: [loopbackPort] }, (s) => probe(s));
    expect(m.hostLoopback).toMatchObject({ ok: true, body: 'host-loopback-service' });
    expect(m.otherSession.ok).toBe(false);
    expect(m.hostAddress.ok).toBe(false);
    expect(m.registry.ok).toBe(true);
  });
});

describe("the host's own addresses", () => {
  // Documentation addresses (TEST-NET-2, 2001:db8::/32) added to the test host's loopback interface:
  // nothing leaves the test host even if the rule fails. A service listening on `::` answers on both.
  const own = ['198.51.100.7/32', '2001:db8::7/128'];
  const ip = (args: string) => execSync(`ip ${args}`, { stdio: 'pipe' });

  it('are denied to allow-all and custom guests: a host service on :: is not reachable through 198.51.100.7 or 2001:db8::7', async () => {
    for (const address of own) ip(`addr add ${address} dev lo`);
    const server = http.createServer((_, res) => res.end('host-own-address-service'));
    try {
      server.listen(0, '::');
      await once(server, 'listening');
      const port = (server.address() as AddressInfo).port;
      const urls = { v4: `http://198.51.100.7:${port}/`, v6: `http://[2001:db8::7]:${port}/` };
      // The positive control: from the host itself, both addresses reach the service.
      for (const url of Object.values(urls)) expect(await fetch(url).then((r) => r.text())).toBe('host-own-address-service');
      for (const networkPolicy of [
        { mode: 'allow-all' as const },
        { mode: 'custom' as const, allowedCIDRs: ['0.0.0.0/0', '::/0'] },
      ]) {
        await withSession({ networkPolicy }, async (s) => {
          await s.writeTextFile({ path: '/tmp/net-probe.mjs', content: probeScript });
          const targets = { v4: { http: urls.v4 }, v6: { http: urls.v6 } };
          const { stdout } = await s.run({ command: 'node /tmp/net-probe.mjs "$TARGETS"', env: { TARGETS: JSON.stringify(targets) } });
          console.log(networkPolicy.mode, stdout);
          const matrix = JSON.parse(stdout) as Record<string, Probe>;
          expect(matrix.v4.ok, `${networkPolicy.mode} reached the host through 198.51.100.7`).toBe(false);
          expect(matrix.v6.ok, `${networkPolicy.mode} reached the host through 2001:db8::7`).toBe(false);
        });
      }
    } finally {
      server.close();
      for (const address of own) ip(`addr del ${address} dev lo`);
    }
  });
});

/**
 * A TLS server on the test host's port 443 for `host.microsandbox.internal` (the runtime's alias for
 * the host), signed by a private CA that the runtime's upstream verification trusts through
 * SSL_CERT_FILE (test environment only), and a plain HTTP server: both record the header they get.
 */
let tlsHostCache: { seen: string[]; plainPort: number } | undefined;
async function tlsHost() {
  if (tlsHostCache) return tlsHostCache;
  const dir = mkdtempSync(join(tmpdir(), 'aisdk-secrets-'));
  const sh = (cmd: string) => execSync(cmd, { cwd: dir, stdio: 'pipe' });
  sh('openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -subj /CN=aisdk-test-ca -days 1');
  sh('openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=host.microsandbox.internal');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:host.microsandbox.internal\n');
  sh('openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 1 -extfile ext.cnf');
  writeFileSync(join(dir, 'bundle.pem'), readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8') + readFileSync(join(dir, 'ca.pem'), 'utf8'));
  process.env.SSL_CERT_FILE = join(dir, 'bundle.pem');
  const seen: string[] = [];
  const record = (req: http.IncomingMessage, res: http.ServerResponse) => {
    seen.push(`${req.socket.localPort} ${req.headers['x-api-key']}`);
    res.end('ok');
  };
  const tls = https.createServer({ key: readFileSync(join(dir, 'srv.key')), cert: readFileSync(join(dir, 'srv.pem')) }, record);
  tls.listen(443, '127.0.0.1');
  await once(tls, 'listening');
  servers.push(tls as unknown as http.Server);
  const plain = http.createServer(record);
  plain.listen(0, '127.0.0.1');
  await once(plain, 'listening');
  servers.push(plain);
  tlsHostCache = { seen, plainPort: (plain.address() as AddressInfo).port };
  return tlsHostCache;
}

/** From the guest: an HTTPS request to the host alias and a plain one to another port, each with `x-api-key: <key>`. */
async function callWithKey(s: MicrosandboxSession, key: string, plainPort: number, env: Record<string, string> = {}) {
  const call = `node -e "
    const h = { 'x-api-key': process.env.MODEL_KEY };
    const go = (u) => fetch(u, { headers: h }).then((r) => r.text(), (e) => 'failed: ' + (e.cause?.code ?? e.message));
    Promise.all([go('https://host.microsandbox.internal/'), go('http://host.microsandbox.internal:${plainPort}/')]).then((r) => console.log(JSON.stringify(r)));
  "`;
  return s.run({ command: call, env: { MODEL_KEY: key, ...env } });
}

/** The guest's environment and every process's environ: where a leaked real value would show. */
async function guestEnviron(s: MicrosandboxSession) {
  return (await s.run({ command: 'env; cat /proc/[0-9]*/environ 2>/dev/null | tr "\\0" "\\n"' })).stdout;
}

describe('secrets', () => {
  it('the guest sees only a placeholder; the allowed host receives the real value over HTTPS, others never do', async () => {
    const { seen, plainPort } = await tlsHost();
    const real = `sk-test-${randomUUID()}`;
    process.env.AISDK_TEST_MODEL_KEY = real;
    seen.length = 0;

    await withSession(
      {
        allowHostPorts: [443, plainPort],
        secrets: [{ name: 'MODEL_KEY', hostEnv: 'AISDK_TEST_MODEL_KEY', allowedHosts: ['host.microsandbox.internal'] }],
      },
      async (s) => {
        // The adapter's way: the real key in the command's env. It must arrive as the placeholder.
        const { stdout, stderr } = await callWithKey(s, real, plainPort);
        console.log(stdout, stderr, seen);
        const inGuest = await s.run({ command: 'echo "$MODEL_KEY"; cat /proc/[0-9]*/environ 2>/dev/null | tr "\\0" "\\n"' });
        expect(inGuest.stdout.split('\n')[0]).toBe('$MSB_MODEL_KEY');
        expect(inGuest.stdout).toContain('MODEL_KEY=$MSB_MODEL_KEY');
        expect(inGuest.stdout).not.toContain(real);
        expect(stdout + stderr).not.toContain(real);
        // Which other TLS clients of the image trust the interception CA as it comes (reported, not asserted).
        const others = await s.run({
          command: [
            'if command -v curl >/dev/null; then curl -sS -o /dev/null https://host.microsandbox.internal/ 2>/dev/null && echo "curl: trusts it" || echo "curl: does not"; else echo "curl: not in image"; fi',
            `if command -v python3 >/dev/null; then python3 -c "import urllib.request as u; u.urlopen('https://host.microsandbox.internal/')" 2>/dev/null && echo "python3: trusts it" || echo "python3: does not"; else echo "python3: not in image"; fi`,
          ].join('; '),
        });
        console.log(`interception CA in the image: ${others.stdout.trim().replace(/\n/g, '; ')}`);
      },
    );
    expect(seen).toContain(`443 ${real}`);
    expect(seen.filter((line) => line.includes(real))).toEqual([`443 ${real}`]);
  });

  it('a session started from a template keeps its secrets (it used to fail to boot: the fork lacked the interception its template had)', async () => {
    const { seen, plainPort } = await tlsHost();
    const real = `sk-test-${randomUUID()}`;
    process.env.AISDK_TEST_MODEL_KEY = real;
    seen.length = 0;
    let bootstraps = 0;
    const provider = createMicrosandbox({
      image: harnessImage(),
      memory: 1024,
      allowHostPorts: [443, plainPort],
      secrets: [{ name: 'MODEL_KEY', hostEnv: 'AISDK_TEST_MODEL_KEY', allowedHosts: ['host.microsandbox.internal'] }],
    });
    const session = await provider.createSession({
      identity: `secrets-${randomUUID()}`,
      onFirstCreate: async (s) => {
        bootstraps += 1;
        await s.writeTextFile({ path: '/opt/bootstrapped', content: 'yes' });
      },
    });
    try {
      expect(bootstraps).toBe(1);
      expect(await session.readTextFile({ path: '/opt/bootstrapped' })).toBe('yes');
      const { stdout } = await callWithKey(session, real, plainPort);
      console.log(stdout, seen);
      expect(seen).toContain(`443 ${real}`);
      expect(await guestEnviron(session)).not.toContain(real);
    } finally {
      await session.destroy();
    }
  });
});

const PLACEHOLDER = () => `aisdkhc_${randomUUID().replaceAll('-', '')}test`;
const keyRule = (placeholder: string, real: string) => ({
  match: { host: 'host.microsandbox.internal', headers: [{ key: { exact: 'x-api-key' }, value: { exact: placeholder } }] },
  transform: { headers: { 'x-api-key': real } },
});

describe('brokered credentials (request transformations)', () => {
  it('cold, from a template and resumed: the guest holds the placeholder, only the rule\'s host gets the real value over HTTPS', async () => {
    const { seen, plainPort } = await tlsHost();
    const settings = { image: harnessImage(), memory: 1024, allowHostPorts: [443, plainPort] };
    const identity = `brokered-${randomUUID()}`;
    let prepared = 0;
    const template: MicrosandboxSandboxTemplate = {
      identity,
      prepare: async ({ session }) => {
        prepared += 1;
        await session.writeTextFile({ path: '/opt/prepared', content: 'yes' });
      },
    };
    const check = async (s: MicrosandboxSession, what: string) => {
      const placeholder = PLACEHOLDER();
      const real = `sk-${what}-${randomUUID()}`;
      seen.length = 0;
      const started = Date.now();
      await s.addRequestTransformations!([keyRule(placeholder, real)]);
      console.log(`${what}: addRequestTransformations took ${Date.now() - started} ms`);
      const { stdout, stderr } = await callWithKey(s, placeholder, plainPort);
      console.log(what, stdout, stderr, seen);
      expect(seen, what).toContain(`443 ${real}`);
      expect(seen.filter((line) => line.includes(real)), what).toEqual([`443 ${real}`]);
      // The adapter's fallback: a command given the real value (inside another value too) gets the placeholder.
      const env = await s.run({ command: 'printf "%s|%s" "$A" "$B"', env: { A: real, B: `Bearer ${real}` } });
      expect(env.stdout, what).toBe(`${placeholder}|Bearer ${placeholder}`);
      expect(await guestEnviron(s), what).not.toContain(real);
      return { placeholder, real };
    };

    const cold = await createMicrosandboxNetworkSandboxSession(settings);
    try {
      expect(typeof cold.setRequestTransformations).toBe('function');
      await check(cold, 'cold');
      // What the runtime cannot express is refused, naming the rule, never dropped.
      const pathRule = { ...keyRule(PLACEHOLDER(), 'sk-never'), match: { ...keyRule('x'.repeat(20), 'y').match, path: { startsWith: '/v1' } } };
      const refused = await Promise.resolve(cold.addRequestTransformations!([pathRule])).catch((e: Error) => e);
      expect(HarnessCapabilityUnsupportedError.isInstance(refused)).toBe(true);
      expect((refused as Error).message).toContain('rules[0]');
      expect((refused as Error).message).not.toContain('sk-never');
    } finally {
      await cold.destroy();
    }

    const first = await createMicrosandboxNetworkSandboxSession({ ...settings, template });
    await first.destroy();
    const sandboxId = `brokered-${randomUUID()}`;
    const fromTemplate = await createMicrosandboxNetworkSandboxSession({ ...settings, template, sandboxId });
    let destroyed = false;
    try {
      expect(prepared).toBe(1);
      expect(fromTemplate.id).toBe(sandboxId);
      expect(await fromTemplate.readTextFile({ path: '/opt/prepared' })).toBe('yes');
      const { placeholder } = await check(fromTemplate, 'template');
      const conflict = await createMicrosandboxNetworkSandboxSession({ ...settings, sandboxId }).catch((e: MicrosandboxError) => e);
      expect((conflict as MicrosandboxError).code).toBe('ERR_MICROSANDBOX_SESSION_EXISTS');

      const resumed = await resumeMicrosandboxNetworkSandboxSession({ sandboxId });
      expect(resumed.id).toBe(sandboxId);
      // The adapter keeps its placeholder across a resume and gives the (maybe rotated) value again: live.
      const rotated = `sk-rotated-${randomUUID()}`;
      seen.length = 0;
      const started = Date.now();
      await resumed.addRequestTransformations!([keyRule(placeholder, rotated)]);
      console.log(`resumed: rotating the value took ${Date.now() - started} ms`);
      await callWithKey(resumed, placeholder, plainPort);
      expect(seen).toContain(`443 ${rotated}`);
      await resumed.setRequestTransformations!([]);
      seen.length = 0;
      await callWithKey(resumed, placeholder, plainPort);
      expect(seen.filter((line) => line.includes(rotated))).toEqual([]);
      await resumed.destroy();
      destroyed = true;
    } finally {
      if (!destroyed) await fromTemplate.destroy();
    }
  });
});
