// Settings as JS hands them to the addon: data only, callbacks beside it.
import { MicrosandboxError } from './errors.js';

/** Wrap mode accepts the microsandbox JS SDK's Sandbox object or a sandbox name. */
export function nativeSettings(settings) {
  if (settings == null) return {};
  if (typeof settings !== 'object' || Array.isArray(settings)) return settings;
  if (!('sandbox' in settings) || typeof settings.sandbox === 'string') return settings;
  const name = settings.sandbox?.name;
  return { ...settings, sandbox: typeof name === 'string' ? name : settings.sandbox };
}

/** `onProgress` is a callback, not data: it goes to the addon beside the settings. */
export function splitProgress(settings) {
  if (settings == null || typeof settings !== 'object' || !('onProgress' in settings)) return [settings, undefined];
  const { onProgress, ...rest } = settings;
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new MicrosandboxError('ERR_MICROSANDBOX_INVALID_SETTINGS', '`onProgress` must be a function ({ phase, message }) => void');
  }
  return [rest, onProgress];
}
