#!/usr/bin/env node
// The package's command line: `npx ai-sdk-microsandbox doctor [--json]`.
import { parseArgs } from 'node:util';
import { doctor, formatDoctor } from '../lib/doctor.js';

const USAGE = `usage: ai-sdk-microsandbox doctor [--json]

  doctor   checks Node, the native addon, the microsandbox runtime and KVM, lists versions and
           state dirs, and says what to fix; exit status 1 when something blocks microVMs
  --json   the same as JSON, for scripts`;

function fail(message, json) {
  const error = { code: 'ERR_MICROSANDBOX_INVALID_ARGUMENT', message };
  if (json) console.log(JSON.stringify({ error }, null, 2));
  else console.error(`${error.code}: ${message}\n\n${USAGE}`);
  process.exit(2);
}

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
} else if (command !== 'doctor') {
  fail(command === undefined ? 'no command given' : `unknown command "${command}"`, json);
} else if (rest.length > 0) {
  fail(`doctor takes no arguments, got "${rest.join(' ')}"`, json);
} else {
  const report = await doctor();
  console.log(json ? JSON.stringify(report, null, 2) : formatDoctor(report));
  process.exitCode = report.ok ? 0 : 1;
}
