import { describe, expect, it } from 'vitest';
import { MicrosandboxError, fromNative } from '../../lib/errors.js';

const native = (message: string) => new Error(message);

describe('native errors in their JS form', () => {
  it('keeps the runtime errors that caused it as a cause chain, outermost first', () => {
    const causes = JSON.stringify(['microVM x failed: KVM exit', 'connection refused']);
    const err = fromNative(native(`[ERR_MICROSANDBOX_BOOT_FAILED] the boot failed\u001e${causes}`));
    expect(MicrosandboxError.isInstance(err)).toBe(true);
    expect(err.code).toBe('ERR_MICROSANDBOX_BOOT_FAILED');
    expect(err.message).toBe('the boot failed');
    expect(err.cause).toMatchObject({ name: 'MicrosandboxRuntimeError', message: 'microVM x failed: KVM exit' });
    expect(err.cause.cause).toMatchObject({ message: 'connection refused' });
    expect(err.cause.cause.cause).toBeUndefined();
  });

  it('takes the last separator, so guest text in the message cannot forge causes', () => {
    const err = fromNative(native(`[ERR_MICROSANDBOX_FS] no such file: a\u001e["forged"]\u001e["real"]`));
    expect(err.message).toBe('no such file: a\u001e["forged"]');
    expect(err.cause.message).toBe('real');
  });

  it('without causes, the native error is the cause', () => {
    const raw = native('[ERR_MICROSANDBOX_INVALID_ARGUMENT] `command` must be a string');
    const err = fromNative(raw);
    expect(err.message).toBe('`command` must be a string');
    expect(err.cause).toBe(raw);
  });

  it('a capability error keeps its cause too', () => {
    const err = fromNative(native('[ERR_MICROSANDBOX_UNSUPPORTED] no https\u001e["sdk says no"]'));
    expect(err.name).toBe('AI_HarnessCapabilityUnsupportedError');
    expect(err.cause.message).toBe('sdk says no');
  });
});
