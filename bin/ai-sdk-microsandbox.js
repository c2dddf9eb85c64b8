#!/usr/bin/env node
// The package's command line: doctor, ls, rm, logs, prune; `--json` for scripts.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { doctor, formatDoctor } from '../lib/doctor.js';
import { printable } from '../lib/printable.js';

const USAGE = `usage: ai-sdk-microsandbox <command> [--json]

  doctor          checks Node, the native addon, the microsandbox runtime and KVM, lists versions and
                  state dirs, and says what to fix; exit status 1 when something blocks microVMs
  ls              sessions (name, kind, status, ports, age, disk) and bootstrap templates (age, size)
  rm <sessionId>  removes the session created with that sessionId: its microVM, disk, ports, record
  logs <session>  a session's last log lines (its commands' output, runtime and guest kernel messages);
                  <session> is a sessionId or a name from ls; --tail N lines (default 200); control
                  characters from the guest are shown escaped, --raw prints them as they are
  prune           removes orphaned sessions and templates beyond the newest few not used lately
  prepare <config>
                  gets a configuration ready before its first session: pulls or loads the image and
                  bootstraps its template, so the first session forks. <config> is a module whose default
                  export is the options of createMicrosandboxNetworkSandboxSession (with
                  template: await agent.getSandboxTemplate()), or a function that returns them
  --json          the same as JSON, for scripts`;

function fail(message, json, code = 'ERR_MICROSANDBOX_INVALID_ARGUMENT') {
  const error = { code, message };
  if (json) console.log(JSON.stringify({ error }, null, 2));
  else console.error(`${code}: ${message}${code === 'ERR_MICROSANDBOX_INVALID_ARGUMENT' ? `\n\n${USAGE}` : ''}`);
  process.exit(2);
}

const ARITY = { doctor: 0, ls: 0, rm: 1, logs: 1, prune: 0, prepare: 1 };
const MAX_TAIL = 100_000;

const argv = process.argv.slice(2);
const json = argv.includes('--json');
let parsed;
try {
  parsed = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, tail: { type: 'string' }, raw: { type: 'boolean' } } });
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
const age = (seconds) => {
  if (seconds == null) return 'age unknown';
  const s = Math.max(0, Date.now() / 1000 - seconds);
  if (s < 3600) return `${Math.round(s / 60)} min old`;
  if (s < 172_800) return `${Math.round(s / 3600)} h old`;
  return `${Math.round(s / 86_400)} days old`;
};
const size = (bytes) => (bytes == null ? 'size unknown' : `${(bytes / 2 ** 20).toFixed(1)} MiB`);
const tail = parsed.values.tail === undefined ? 200 : Number(parsed.values.tail);
if (!Number.isInteger(tail) || tail < 1 || tail > MAX_TAIL) fail(`--tail takes a whole number of lines from 1 to ${MAX_TAIL}`, json);
if (parsed.values.tail !== undefined && command !== 'logs') fail('--tail goes with logs only', json);
if (parsed.values.raw && command !== 'logs') fail('--raw goes with logs only', json);

if (command === 'doctor') {
  const report = await doctor();
  print(report, formatDoctor(report));
  process.exitCode = report.ok ? 0 : 1;
} else if (command === 'prepare') {
  const { prepareMicrosandboxSandboxTemplate } = await import('../index.js').catch((err) =>
    fail(err.message, json, err.code ?? 'ERR_MICROSANDBOX_BINDING_MISSING'),
  );
  const config = await import(pathToFileURL(resolve(rest[0])).href).catch((err) =>
    fail(`cannot load the config module ${rest[0]}: ${err.message}`, json, 'ERR_MICROSANDBOX_INVALID_SETTINGS'),
  );
  const options = typeof config.default === 'function' ? await config.default() : config.default;
  if (options == null || typeof options !== 'object') {
    fail(`${rest[0]} must export default the options of createMicrosandboxNetworkSandboxSession (or a function returning them)`, json, 'ERR_MICROSANDBOX_INVALID_SETTINGS');
  }
  const progress = progressLine(process.stderr);
  try {
    const prepared = await prepareMicrosandboxSandboxTemplate({ ...options, onProgress: progress.show });
    progress.end();
    const template = prepared.templateKey === null
      ? 'no template (the options have no `template`, or the image cannot be snapshotted)'
      : `template ${prepared.templateKey} ${prepared.bootstrapped ? 'bootstrapped now' : 'was already there'}`;
    print(prepared, `ready: image ${prepared.image}; ${template}`);
  } catch (err) {
    progress.end();
    fail(err.message, json, err.code ?? 'ERR_MICROSANDBOX_INTERNAL');
  }
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
          `${s.ports.map((p) => `${p.guest}->${p.host}`).join(',') || 'no ports'}  ${s.workingDirectory}  ` +
          `${age(s.createdAt)}  ${size(s.diskBytes)} on disk`,
      );
      const templates = listing.templates.map(
        (t) => `  ${t.key}  ${t.image}  created ${when(t.createdAt)} (${age(t.createdAt)})  used ${when(t.lastUsedAt)}  ${size(t.sizeBytes)}`,
      );
      print(
        listing,
        [`state in ${listing.cacheDir}`, `sessions (${sessions.length}):`, ...sessions, `templates (${templates.length}):`, ...templates].join('\n'),
      );
    } else if (command === 'rm') {
      const removed = await state.removeSessionById(rest[0]);
      if (removed === null) fail(`no session with id "${rest[0]}" is kept here`, json, 'ERR_MICROSANDBOX_SESSION_NOT_FOUND');
      print({ removed }, `removed ${removed}`);
    } else if (command === 'logs') {
      const lines = await state.sessionLogs(rest[0], tail);
      const shown = (text) => (parsed.values.raw ? text : printable(text));
      print(lines, lines.map((l) => `${l.timestamp} ${l.source}: ${shown(l.text.replace(/\n$/, ''))}`).join('\n'));
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

/**
 * Progress on `stream`: on a terminal one line, rewritten as steps and downloaded bytes come; otherwise a
 * plain line per step, for logs.
 */
function progressLine(stream) {
  let shown = false;
  return {
    show: ({ phase, message }) => {
      const line = `[${phase}] ${printable(message)}`;
      if (!stream.isTTY) return void stream.write(`${line}\n`);
      stream.write(`\r\u001b[2K${line.slice(0, (stream.columns || 80) - 1)}`);
      shown = true;
    },
    end: () => {
      if (shown) stream.write('\n');
      shown = false;
    },
  };
}
