// The command line's ls / rm / logs / prune on a private state dir (no microVM needed).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { printable } from '../../lib/printable.js';

const cli = join(import.meta.dirname, '../../bin/ai-sdk-microsandbox.js');

function run(args: string[], cacheDir: string) {
  return spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    env: { ...process.env, AI_SDK_MICROSANDBOX_CACHE_DIR: cacheDir },
  });
}

describe('ai-sdk-microsandbox ls / rm / logs / prune', () => {
  it('lists the sessions and templates kept in the state dir', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aisdk-cli-'));
    mkdirSync(join(dir, 'sessions'));
    const name = 'aisdk-chat-1-0123456789ab';
    const record = { name, working_directory: '/root', ports: [{ guest: 4000, host: 41234, bind: '127.0.0.1', protocol: 'tcp' }], public_hostname: null };
    writeFileSync(join(dir, 'sessions', `${name}.json`), JSON.stringify(record));
    const listing = JSON.parse(execFileSync(process.execPath, [cli, 'ls', '--json'], { encoding: 'utf8', env: { ...process.env, AI_SDK_MICROSANDBOX_CACHE_DIR: dir } }));
    expect(listing.cacheDir).toBe(dir);
    expect(listing.sessions).toEqual([
      expect.objectContaining({ name, resumable: true, workingDirectory: '/root', ports: [{ guest: 4000, host: 41234 }], status: 'missing', diskBytes: 0 }),
    ]);
    expect(listing.sessions[0].createdAt).toBeUndefined(); // the runtime has no such microVM
    expect(listing.templates).toEqual([]);
    expect(run(['ls'], dir).stdout).toContain(`${name}  resumable`);
  });

  it('rm of an unknown id is ERR_MICROSANDBOX_SESSION_NOT_FOUND, of a malformed one INVALID_ARGUMENT, exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aisdk-cli-'));
    const unknown = run(['rm', 'no-such-session', '--json'], dir);
    expect(unknown.status).toBe(2);
    expect(JSON.parse(unknown.stdout).error.code).toBe('ERR_MICROSANDBOX_SESSION_NOT_FOUND');
    const malformed = run(['rm', 'a/b', '--json'], dir);
    expect(malformed.status).toBe(2);
    expect(JSON.parse(malformed.stdout).error.code).toBe('ERR_MICROSANDBOX_INVALID_ARGUMENT');
    expect(run(['rm'], dir).stderr).toContain('rm takes exactly one argument');
  });

  it('logs of an unknown session is ERR_MICROSANDBOX_SESSION_NOT_FOUND; --tail takes a whole number of lines, with logs only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aisdk-cli-'));
    const unknown = run(['logs', 'no-such-session', '--json'], dir);
    expect(unknown.status).toBe(2);
    expect(JSON.parse(unknown.stdout).error).toEqual({ code: 'ERR_MICROSANDBOX_SESSION_NOT_FOUND', message: expect.stringContaining('`ls` lists the sessions') });
    for (const bad of ['0', '-3', '1.5', 'ten', '100001']) {
      const result = run(['logs', 'x', `--tail=${bad}`, '--json'], dir);
      expect(result.status, bad).toBe(2);
      expect(JSON.parse(result.stdout).error.message).toContain('--tail takes a whole number of lines');
    }
    expect(run(['ls', '--tail', '5'], dir).stderr).toContain('--tail goes with logs only');
  });

  it('logs escapes the control characters a guest prints (terminal sequences, forged lines) unless --raw', () => {
    expect(printable('a\u001b]52;c;cHduZWQ=\u0007b')).toBe('a\\x1b]52;c;cHduZWQ=\\x07b');
    expect(printable('line\n2026-01-01T00:00:00Z runtime: forged\r\u009b')).toBe('line\\n2026-01-01T00:00:00Z runtime: forged\\r\\x9b');
    expect(printable('C:\\path\ttab ok')).toBe('C:\\\\path\\ttab ok');
    expect(printable('plain ünïcode ✓')).toBe('plain ünïcode ✓');
    const dir = mkdtempSync(join(tmpdir(), 'aisdk-cli-'));
    expect(run(['ls', '--raw'], dir).stderr).toContain('--raw goes with logs only');
  });

  it('prune on an empty state dir removes nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aisdk-cli-'));
    expect(JSON.parse(run(['prune', '--json'], dir).stdout)).toEqual({ removedOrphans: [], removedTemplates: [], keptTemplates: [] });
  });

  it('prepare needs a module exporting the create options; a bad module or bad options fail before anything boots, exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aisdk-cli-'));
    const missing = run(['prepare', join(dir, 'nope.mjs'), '--json'], dir);
    expect(missing.status).toBe(2);
    expect(JSON.parse(missing.stdout).error).toMatchObject({ code: 'ERR_MICROSANDBOX_INVALID_SETTINGS', message: expect.stringContaining('cannot load the config module') });
    const notOptions = join(dir, 'not-options.mjs');
    writeFileSync(notOptions, 'export default 42;\n');
    expect(JSON.parse(run(['prepare', notOptions, '--json'], dir).stdout).error.message).toContain('must export default the options');
    const badOptions = join(dir, 'bad-options.mjs');
    writeFileSync(badOptions, `export default async () => ({ workspace: { path: ${JSON.stringify(join(dir, 'absent'))} } });\n`);
    const bad = run(['prepare', badOptions, '--json'], dir);
    expect(bad.status).toBe(2);
    expect(JSON.parse(bad.stdout).error).toMatchObject({ code: 'ERR_MICROSANDBOX_INVALID_SETTINGS', message: expect.stringContaining('`workspace.path`') });
    expect(run(['prepare'], dir).stderr).toContain('prepare takes exactly one argument');
  });
});
