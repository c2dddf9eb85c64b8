import { describe, expect, it } from 'vitest';
import { createMicrosandbox } from '../../index.js';
import { kvmUsable } from '../support/env.js';

describe('on a host where microVMs cannot boot', () => {
  it.skipIf(kvmUsable())('createSession fails fast with a KVM error that says how to fix it', async () => {
    const started = Date.now();
    const provider = createMicrosandbox({ image: 'node:22-bookworm-slim' });
    const err = await provider.createSession().then(
      () => {
        throw new Error('expected createSession to fail without usable KVM');
      },
      (e: { code: string; message: string }) => e,
    );
    expect(err.code).toBe('ERR_MICROSANDBOX_KVM_UNAVAILABLE');
    expect(err.message).toMatch(/virtualization/i);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('a pre-aborted createSession rejects before doing anything', async () => {
    const provider = createMicrosandbox({ image: 'node:22-bookworm-slim' });
    const controller = new AbortController();
    controller.abort(new Error('caller gave up'));
    await expect(provider.createSession({ abortSignal: controller.signal })).rejects.toThrow('caller gave up');
  });
});
