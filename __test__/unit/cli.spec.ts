// The command line's ls / rm / prune on a private state dir (no microVM needed).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const cli = join(import.meta.dirname, '../../bin/ai-sdk-microsandbox.js');

function run(args: string[], cacheDir: string) {
  return spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    env: { ...process.env, AI_SDK_MICROSANDBOX_CACHE_DIR: cacheDir },
  });
}

describe('ai-sdk-microsandbox ls / rm / prune', () => {
  it('lists the sessions and templates kept in the state dir', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aisdk-cli-'));
    mkdirSync(join(dir, 'sessions'));
    const name = 'aisdk-chat-1-0123456789ab';
    const record = { name, working_directory: '/root', ports: [{ guest: 4000, host: 41234, bind: '127.0.0.1', protocol: 'tcp' }], public_hostname: null };
    writeFileSync(join(dir, 'sessions', `${name}.json`), JSON.stringify(record));
    const listing = JSON.parse(execFileSync(process.execPath, [cli, 'ls', '--json'], { encoding: 'utf8', env: { ...process.env, AI_SDK_MICROSANDBOX_CACHE_DIR: dir } }));
    expect(listing.cacheDir).toBe(dir);
    expect(listing.sessions).toEqual([
      expect.objectContaining({ name, resumable: true, workingDirectory: '/root', ports: [{ guest: 4000, host: 41234 }] }),
    ]);
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

  it('prune on an empty state dir removes nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aisdk-cli-'));
    expect(JSON.parse(run(['prune', '--json'], dir).stdout)).toEqual({ removedOrphans: [], removedTemplates: [], keptTemplates: [] });
  });
});
