// Under emulation (scripts/test.sh sets `retry: 1`) a failed test gets its second try only when a
// microVM triple-faulted while the failed try ran: that is the emulator's nested SVM dying under the
// guest (scripts/vmhost/README.md), not our code. Any other failure fails the run on its first try.
import { readFileSync } from 'node:fs';
import { beforeEach } from 'vitest';

/** Written by the test VM's init (one line per microVM triple fault, a kprobe on KVM's shutdown exit). */
const faultLog = process.env.AI_SDK_MICROSANDBOX_VMHOST_FAULTS;

function microvmTripleFaults(): number {
  if (!faultLog) return 0;
  try {
    return readFileSync(faultLog, 'utf8').split('\n').filter((line) => line.includes('vmhost_microvm_shutdown')).length;
  } catch {
    return 0;
  }
}

const faultsAtTryStart = new WeakMap<object, number>();

beforeEach(({ task }) => {
  const faults = microvmTripleFaults();
  const before = faultsAtTryStart.get(task);
  faultsAtTryStart.set(task, faults);
  if ((task.result?.retryCount ?? 0) > 0 && faults === before) {
    throw new Error(
      'not retried: no microVM triple fault happened while the failed try ran, so the emulator does not explain it (the error of that try is above)',
    );
  }
});
