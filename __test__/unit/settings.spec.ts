import { describe, expect, it } from 'vitest';
import { createMicrosandbox, MicrosandboxError } from '../../index.js';
import { settingsError } from '../support/settings-error.js';

describe('createMicrosandbox settings', () => {
  it('returns a harness-sandbox-v1 provider without doing any I/O', () => {
    const provider = createMicrosandbox({
      image: 'node:22-bookworm-slim',
      cpus: 1,
      memory: 1024,
      workdir: '/root',
      ports: [{ host: 4000, guest: 4000 }],
      bootstrapPreCommands: ['corepack enable pnpm'],
    });
    expect(provider.specificationVersion).toBe('harness-sandbox-v1');
    expect(provider.providerId).toBe('microsandbox');
    expect(typeof provider.createSession).toBe('function');
    expect(typeof provider.resumeSession).toBe('function');
  });

  it.each([
    [{ image: 'x', cpus: 0 }, '`cpus`'],
    [{ image: 'x', cpus: 1.5 }, '`cpus`'],
    [{ image: 'x', cpus: '2' }, '`cpus`'],
    [{ image: 'x', memory: 1024.5 }, '`memory`'],
    [{ image: 'x', ports: [{ host: 0, guest: 80 }] }, '`ports[0].host`'],
    [{ image: 'x', ports: [{ host: 80, guest: 65536 }] }, '`ports[0].guest`'],
    [{ image: 'x', ports: [{ host: 80, guest: 1 }, { host: 80, guest: 2 }] }, 'host port 80 twice'],
    [{ image: 'x', ports: [{ host: 80, guest: 1, bind: 'localhost!' }] }, '`ports[0].bind`'],
    [{ image: 'x', ports: [{ host: 80, guest: 1, protocol: 'sctp' }] }, '`ports[0].protocol`'],
    [{ image: 'x', workdir: 'relative' }, '`workdir`'],
    [{ image: 'x', env: { A: 1 } }, '`env.A`'],
    [{ image: 'x', imagee: 'typo' }, 'unknown setting `imagee`'],
    [{ image: 'x', bridgePorts: [4000] }, '`bridgePorts` only applies with `sandbox`'],
    [{ sandbox: 'mine', cpus: 2 }, '`cpus` cannot be combined with `sandbox`'],
    [{ image: '' }, '`image` must not be empty'],
    [{ image: 'x', runtime: 'node24' }, "image: 'node:24-bookworm-slim'"],
    [{ image: 'x', timeout: 60_000, maxDurationMs: 60_000 }, 'not both'],
    [{ image: 'x', resources: { vcpus: 2 }, cpus: 2 }, 'not both'],
    [{ image: 'x', resources: { vcpus: 2, memory: 1 } }, '`resources.memory`'],
    [{ image: 'x', ports: ['3000'] }, '`ports[0]`'],
    [{ image: 'x', brokerCredentials: 'yes' }, '`brokerCredentials`'],
    [{ image: 'x', networkPolicy: { mode: 'some' } }, '`networkPolicy.mode`'],
    [{ image: 'x', name: '-bad name' }, '`name`'],
    [{ image: 'x', publicHostname: 'http://x' }, '`publicHostname`'],
    [{ image: 'x', warmPool: { size: 17 } }, '`warmPool.size`'],
    [{ image: 'x', warmPool: { size: -1 } }, '`warmPool.size`'],
    [{ image: 'x', warmPool: true }, '`warmPool`'],
    [{ sandbox: 'mine', warmPool: { size: 1 } }, '`warmPool` cannot be combined with `sandbox`'],
  ])('rejects %j naming the field', (settings, fragment) => {
    const err = settingsError(settings);
    expect(err).toBeInstanceOf(MicrosandboxError);
    expect(err.code).toBe('ERR_MICROSANDBOX_INVALID_SETTINGS');
    expect(err.message).toContain(fragment);
  });

  it('has no warm pool unless asked, and closes one without having made a microVM', async () => {
    expect(createMicrosandbox({ image: 'x' }).warmPoolStatus()).toBeNull();
    const pooled = createMicrosandbox({ image: 'x', warmPool: { size: 2 } });
    expect(pooled.warmPoolStatus()).toEqual({ size: 2, ready: 0, filling: false });
    await pooled.close();
    await pooled[Symbol.asyncDispose]();
    expect(pooled.warmPoolStatus()).toEqual({ size: 2, ready: 0, filling: false });
  });

  it('never echoes env values in errors', () => {
    const err = settingsError({ image: 'x', env: { TOKEN: { secret: 'sk-very-secret' } } });
    expect(err.message).toContain('`env.TOKEN`');
    expect(err.message).not.toContain('sk-very-secret');
  });

  it('accepts wrap mode with a sandbox name or a microsandbox Sandbox-like object', () => {
    expect(createMicrosandbox({ sandbox: 'caller-owned', bridgePorts: [4000] }).providerId).toBe('microsandbox');
    expect(createMicrosandbox({ sandbox: { name: 'caller-owned' } }).providerId).toBe('microsandbox');
  });

  it('rejects an unsatisfiable custom network policy as a capability error', () => {
    const err = settingsError({ image: 'x', networkPolicy: { mode: 'custom' } });
    expect(err.name).toBe('AI_HarnessCapabilityUnsupportedError');
  });
});
