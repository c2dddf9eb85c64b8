#!/usr/bin/env node
// The package's command line: doctor, ls, rm, prune; `--json` for scripts.
import { parseArgs } from 'node:util';
import { doctor, formatDoctor } from '../lib/doctor.js';

const USAGE = `usage: ai-sdk-microsandbox <command> [--json]

  doctor          checks Node, the native addon, the microsandbox runtime and KVM, lists versions and
                  state dirs, and says what to fix; exit status 1 when something blocks microVMs
  ls              sessions (name, kind, status, ports) and bootstrap templates this package keeps
  rm <sessionId>  removes the session created with that sessionId: its microVM, disk, ports, record
  prune           removes orphaned sessions and templates beyond the newest few not used lately
  --json          the same as JSON, for scripts`;

function fail(message, json, code = 'ERR_MICROSANDBOX_INVALID_ARGUMENT') {
  const error = { code, message };
  if (json) console.log(JSON.stringify({ error }, null, 2));
  else console.error(`${code}: ${message}${code === 'ERR_MICROSANDBOX_INVALID_ARGUMENT' ? `\n\n${USAGE}` : ''}`);
  process.exit(2);
}

const ARITY = { doctor: 0, ls: 0, rm: 1, prune: 0 };

const argv = process.argv.slice(2);
const json = argv.includes('--json');
let parsed;
try {
  parsed = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
} catch (err) {
  fail(err.message, json);
}
const [command, ...rest] = parsed.positionals;
if (parsed.values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!(command in ARITY)) fail(command === undefined ? 'no command given' : `unknown command "${command}"`, json);
if (rest.length !== ARITY[command]) {
  fail(ARITY[command] === 0 ? `${command} takes no arguments, got "${rest.join(' ')}"` : `${command} takes exactly one argument`, json);
}

const print = (value, text) => console.log(json ? JSON.stringify(value, null, 2) : text);
const when = (seconds) => new Date(seconds * 1000).toISOString().replace('T', ' ').slice(0, 16);

if (command === 'doctor') {
  const report = await doctor();
  print(report, formatDoctor(report));
  process.exitCode = report.ok ? 0 : 1;
} else {
  // The addon loads only here: doctor must work where it cannot.
  const { state } = await import('../lib/native.js').catch((err) => fail(err.message, json, err.code ?? 'ERR_MICROSANDBOX_BINDING_MISSING'));
  const { fromNative } = await import('../lib/errors.js');
  try {
    if (command === 'ls') {
      const listing = await state.listState();
      const sessions = listing.sessions.map(
        (s) =>
          `  ${s.name}${s.sandbox === s.name ? '' : ` (microVM ${s.sandbox})`}  ${s.resumable ? 'resumable' : 'no sessionId'}  ${s.status}  ` +
          `${s.ports.map((p) => `${p.guest}->${p.host}`).join(',') || 'no ports'}  ${s.workingDirectory}`,
      );
      const templates = listing.templates.map(
        (t) => `  ${t.key}  ${t.image}  created ${when(t.createdAt)}  used ${when(t.lastUsedAt)}`,
      );
      print(
        listing,
        [`state in ${listing.cacheDir}`, `sessions (${sessions.length}):`, ...sessions, `templates (${templates.length}):`, ...templates].join('\n'),
      );
    } else if (command === 'rm') {
      const removed = await state.removeSessionById(rest[0]);
      if (removed === null) fail(`no session with id "${rest[0]}" is kept here`, json, 'ERR_MICROSANDBOX_SESSION_NOT_FOUND');
      print({ removed }, `removed ${removed}`);
    } else {
      const report = await state.pruneState();
      print(
        report,
        `removed ${report.removedOrphans.length} orphaned sessions, ${report.removedTemplates.length} templates; kept ${report.keptTemplates.length} templates`,
      );
    }
  } catch (err) {
    const coded = fromNative(err);
    fail(coded.message, json, coded.code ?? 'ERR_MICROSANDBOX_INTERNAL');
  }
}
