// Today's session factories without a microVM: their options, errors, and how errors fit the harness.
import { HarnessError } from '@ai-sdk/harness';
import { getHarnessErrorMessage } from '@ai-sdk/harness/agent';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createMicrosandboxNetworkSandboxSession,
  createMicrosandboxNetworkSandboxSessionFromNativeSandbox,
  MicrosandboxError,
  resumeMicrosandboxNetworkSandboxSession,
} from '../../index.js';

async function rejection(promise: Promise<unknown>): Promise<MicrosandboxError> {
  try {
    await promise;
  } catch (err) {
    return err as MicrosandboxError;
  }
  throw new Error('expected a rejection');
}

describe('createMicrosandboxNetworkSandboxSession options', () => {
  it.each([
    [{ runtime: 'node24' }, "image: 'node:24-bookworm-slim'"],
    [{ teamId: 't', projectId: 'p', token: 'x' }, 'no account is needed'],
    [{ source: { type: 'svn', url: 'https://example.com/r' } }, "`source.type` must be 'git' or 'tarball'"],
    [{ source: { type: 'git', url: 'x' }, workspace: { path: '.' } }, 'not both'],
    [{ user: 'node; rm -rf /' }, '`user` must be a user of the image'],
    [{ workspace: { path: './p', mode: 'copy' } }, '`workspace.mode`'],
    [{ replace: true }, 'creation never replaces'],
    [{ warmPool: { size: 1 } }, 'createMicrosandbox({ warmPool })'],
    [{ sandbox: 'mine' }, 'createMicrosandboxNetworkSandboxSessionFromNativeSandbox'],
    [{ ports: [70000] }, '`ports[0].host`'],
    [{ timeout: 500 }, '`timeout`'],
    [{ imagee: 'x' }, 'unknown option `imagee`'],
  ])('refuses %j before any I/O, saying what to use instead', async (options, fragment) => {
    const err = await rejection(createMicrosandboxNetworkSandboxSession(options as never));
    expect(err.code).toBe('ERR_MICROSANDBOX_INVALID_SETTINGS');
    expect(err.message).toContain(fragment);
  });

  it('refuses a workspace that is missing, a file, `/` or sandbox state, before anything boots', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aisdk-ws-'));
    writeFileSync(join(dir, 'file'), 'x');
    const cacheDir = process.env.AI_SDK_MICROSANDBOX_CACHE_DIR || join(homedir(), '.cache', 'ai-sdk-microsandbox');
    mkdirSync(cacheDir, { recursive: true });
    for (const [path, fragment] of [
      [join(dir, 'missing'), 'cannot be used'],
      [join(dir, 'file'), 'not a directory'],
      ['/', 'must not be `/`'],
      [join(cacheDir, '..'), 'overlaps'],
    ]) {
      const err = await rejection(createMicrosandboxNetworkSandboxSession({ workspace: { path } }));
      expect(err.code, path).toBe('ERR_MICROSANDBOX_INVALID_SETTINGS');
      expect(err.message).toContain(fragment);
    }
  });

  it('refuses a template that is not { identity, prepare }', async () => {
    for (const template of [{ identity: 3, prepare: async () => {} }, { identity: 'x' }, 'x']) {
      const err = await rejection(createMicrosandboxNetworkSandboxSession({ template } as never));
      expect(err.code).toBe('ERR_MICROSANDBOX_INVALID_ARGUMENT');
      expect(err.message).toMatch(/`template(\.identity)?`/);
    }
  });

  it('an aborted signal rejects with its reason before anything is created', async () => {
    const reason = new Error('stop');
    const err = await rejection(createMicrosandboxNetworkSandboxSession({ abortSignal: AbortSignal.abort(reason) }));
    expect(err).toBe(reason);
  });
});

describe('resumeMicrosandboxNetworkSandboxSession', () => {
  it('never creates: an unknown sandboxId is a coded not-found error naming it', async () => {
    const err = await rejection(resumeMicrosandboxNetworkSandboxSession({ sandboxId: `never-created-${Date.now()}` }));
    expect(err.code).toBe('ERR_MICROSANDBOX_SESSION_NOT_FOUND');
    expect(err.message).toContain('never-created-');
  });

  it('takes only the id: creation settings are refused with the reason', async () => {
    const err = await rejection(resumeMicrosandboxNetworkSandboxSession({ sandboxId: 'x', image: 'y' } as never));
    expect(err.code).toBe('ERR_MICROSANDBOX_INVALID_SETTINGS');
    expect(err.message).toContain('keeps the settings it was created with');
  });

  it('a sandboxId that is not 1-256 printable characters is an invalid argument', async () => {
    const err = await rejection(resumeMicrosandboxNetworkSandboxSession({ sandboxId: '../etc' }));
    expect(err.code).toBe('ERR_MICROSANDBOX_INVALID_ARGUMENT');
  });
});

describe('createMicrosandboxNetworkSandboxSessionFromNativeSandbox', () => {
  it('refuses creation settings: a sandbox you own is configured by you', async () => {
    const err = await rejection(createMicrosandboxNetworkSandboxSessionFromNativeSandbox('mine', { image: 'x' } as never));
    expect(err.code).toBe('ERR_MICROSANDBOX_INVALID_SETTINGS');
    expect(err.message).toContain('`image` cannot be combined with `sandbox`');
  });
});

describe('errors fit the harness', () => {
  it('MicrosandboxError is a HarnessError whose message getHarnessErrorMessage passes on, with the native error as cause', async () => {
    const err = await rejection(resumeMicrosandboxNetworkSandboxSession({ sandboxId: `gone-${Date.now()}` }));
    expect(err).toBeInstanceOf(MicrosandboxError);
    expect(MicrosandboxError.isInstance(err)).toBe(true);
    expect(HarnessError.isInstance(err)).toBe(true);
    expect(getHarnessErrorMessage(err)).toBe(err.message);
    expect(getHarnessErrorMessage(err)).not.toBe('An error occurred.');
    expect((err.cause as Error).message).toContain('[ERR_MICROSANDBOX_SESSION_NOT_FOUND]');
    expect(MicrosandboxError.isInstance(new Error('x'))).toBe(false);
  });
});
