// Runs inside a guest: probes each target given as JSON in argv[2] and prints one JSON line of
// results. { dns: name } resolves a name; { http: url } fetches a URL and reports the body's first
// 200 characters (TLS certificates are not checked: reaching the server is what counts).
import dns from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';

const TIMEOUT_MS = 5000;

function get(url) {
  const lib = url.startsWith('https:') ? https : http;
  return new Promise((resolve) => {
    const req = lib.get(url, { timeout: TIMEOUT_MS, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ ok: true, status: res.statusCode, body: body.slice(0, 200) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ ok: false, error: err.code ?? err.message }));
  });
}

async function probe(target) {
  if (target.dns) {
    return dns.lookup(target.dns).then(
      (r) => ({ ok: true, address: r.address }),
      (err) => ({ ok: false, error: err.code }),
    );
  }
  return get(target.http);
}

const targets = JSON.parse(process.argv[2]);
const results = await Promise.all(Object.entries(targets).map(async ([key, t]) => [key, await probe(t)]));
console.log(JSON.stringify(Object.fromEntries(results)));
