// The error createMicrosandbox throws for bad settings, for the unit specs.
import { createMicrosandbox, MicrosandboxError } from '../../index.js';

export function settingsError(settings: unknown): MicrosandboxError {
  try {
    createMicrosandbox(settings as never);
  } catch (err) {
    return err as MicrosandboxError;
  }
  throw new Error('expected createMicrosandbox to throw');
}
