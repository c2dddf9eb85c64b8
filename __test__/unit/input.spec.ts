// Bad input answered with coded errors before any microVM work: these calls fail in validation,
// so they need no VM. Session-level arguments (env, command, ports) are covered in session.spec.ts.
import { describe, expect, it } from 'vitest';
import { createMicrosandbox, MicrosandboxError } from '../../index.js';
import { settingsError } from '../support/settings-error.js';

const provider = createMicrosandbox({ image: 'never-pulled:latest' });

describe('session ids', () => {
  it.each([
    ['empty', ''],
    ['1 MB long', 'x'.repeat(1_000_000)],
    ['with a slash', 'a/b'],
    ['with ..', 'a..b'],
    ['with NUL', 'a\0b'],
    ['with an emoji', 'chat-😀'],
    ['not a string', 42],
    ['an object', { id: 'x' }],
  ])('createSession and resumeSession refuse a sessionId %s', async (_, sessionId) => {
    for (const call of [() => provider.createSession({ sessionId } as never), () => provider.resumeSession({ sessionId } as never)]) {
      const err = await call().then(() => null, (e) => e);
      expect(err).toBeInstanceOf(MicrosandboxError);
      expect(err.code).toBe('ERR_MICROSANDBOX_INVALID_ARGUMENT');
      expect(err.message).toContain('`sessionId`');
      expect(err.message).not.toContain('xxxxxxxx');
    }
  });
});

describe('napi type errors echo values', () => {
  it('a createSession identity that is not a string is a coded error that echoes nothing', async () => {
    for (const identity of [{ token: 'sk-identity-secret' }, 42, ['sk-identity-secret']]) {
      const err = await provider.createSession({ identity } as never).then(() => null, (e) => e);
      expect(err?.code).toBe('ERR_MICROSANDBOX_INVALID_ARGUMENT');
      expect(err.message).toContain('`identity`');
      expect(err.message).not.toContain('sk-identity-secret');
      expect(err.message).not.toMatch(/Failed to convert/);
    }
  });
});

describe('prune options', () => {
  it.each([
    [{ keepNewest: -1 }, '`keepNewest`'],
    [{ keepNewest: 1.5 }, '`keepNewest`'],
    [{ keepNewest: '3' }, '`keepNewest`'],
    [{ keepUsedWithinMs: -5 }, '`keepUsedWithinMs`'],
  ])('prune(%j) is refused naming the option', async (options, field) => {
    const err = await provider.prune(options as never).then(() => null, (e) => e);
    expect(err?.code).toBe('ERR_MICROSANDBOX_INVALID_ARGUMENT');
    expect(err.message).toContain(field);
  });
});

describe('settings that cannot be valid', () => {
  const cyclic: Record<string, unknown> = { image: 'x' };
  cyclic.env = { self: cyclic };

  it.each([
    ['cpus 256', { image: 'x', cpus: 256 }, '`cpus`'],
    ['memory 2**32', { image: 'x', memory: 2 ** 32 }, '`memory`'],
    ['memory 1e300', { image: 'x', memory: 1e300 }, '`memory`'],
    ['a CRLF publicHostname', { image: 'x', publicHostname: 'evil.example\r\nX-Injected: 1' }, '`publicHostname`'],
    ['a cyclic object', cyclic, '`env.self`'],
    ['a BigInt', { image: 'x', cpus: 2n }, '`cpus`'],
    ['a 120-byte name', { image: 'x', name: 'n'.repeat(120) }, '`name`'],
    ['an env key with =', { image: 'x', env: { 'A=B': 'v' } }, '`env`'],
    ['an MSB_ env key', { image: 'x', env: { MSB_HOME: 'v' } }, 'MSB_'],
    ['host port 0', { image: 'x', allowHostPorts: [0] }, '`allowHostPorts[0]`'],
    ['allowHostPorts not an array', { image: 'x', allowHostPorts: 8080 }, '`allowHostPorts`'],
    ['a host with a scheme', { image: 'x', networkPolicy: { mode: 'custom', allowedHosts: ['https://api.example.com'] } }, '`networkPolicy.allowedHosts[0]`'],
    ['a host with a path', { image: 'x', networkPolicy: { mode: 'custom', allowedHosts: ['api.example.com/v1'] } }, '`networkPolicy.allowedHosts[0]`'],
    ['the host alias as a host', { image: 'x', networkPolicy: { mode: 'custom', allowedHosts: ['host.microsandbox.internal'] } }, 'allowHostPorts'],
    ['a secret without allowed hosts', { image: 'x', secrets: [{ name: 'KEY' }] }, '`secrets[0].allowedHosts`'],
    ['a secret name that is not an env name', { image: 'x', secrets: [{ name: 'A-B', allowedHosts: ['x.com'] }] }, '`secrets[0].name`'],
    ['a secret with an inline value', { image: 'x', secrets: [{ name: 'K', allowedHosts: ['x.com'], value: 'sk-inline' }] }, '`secrets[0].value`'],
    ['a secret host with a scheme', { image: 'x', secrets: [{ name: 'K', allowedHosts: ['https://x.com'] }] }, '`secrets[0].allowedHosts[0]`'],
    ['a malformed CIDR', { image: 'x', networkPolicy: { mode: 'custom', allowedCIDRs: ['10.0.0.0/33'] } }, '`networkPolicy`'],
  ])('createMicrosandbox(%s) is refused naming the field', (_, settings, field) => {
    const err = settingsError(settings);
    expect(err).toBeInstanceOf(MicrosandboxError);
    expect(err.code).toBe('ERR_MICROSANDBOX_INVALID_SETTINGS');
    expect(err.message).toContain(field);
  });

  it('does not echo a value that looks like a token', () => {
    const err = settingsError({ image: 'x', env: { TOKEN: 'sk-ant-secret-value\0' } });
    expect(err.message).toContain('`env.TOKEN`');
    expect(err.message).not.toContain('sk-ant-secret-value');
  });
});
