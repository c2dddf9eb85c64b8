// SandboxProcess over a native process: streams, wait, kill, abort.
import { abortReason } from './abort.js';
import { callNative } from './errors.js';
import { pullStream } from './streams.js';

export function toSandboxProcess(native, abortSignal) {
  const kill = () => callNative(() => native.kill());
  const onAbort = () => void kill().catch(() => {});
  abortSignal?.addEventListener('abort', onAbort, { once: true });
  if (abortSignal?.aborted) onAbort();
  const exited = callNative(() => native.wait()).finally(() =>
    abortSignal?.removeEventListener('abort', onAbort),
  );
  return {
    pid: native.pid,
    stdout: pullStream(() => native.readStdout(), () => native.cancelStdout()),
    stderr: pullStream(() => native.readStderr(), () => native.cancelStderr()),
    async wait() {
      const exitCode = await exited;
      if (abortSignal?.aborted) throw abortReason(abortSignal);
      return { exitCode };
    },
    kill,
  };
}
