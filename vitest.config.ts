import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['__test__/**/*.spec.ts'],
    // microVM boots take seconds on KVM but up to minutes under emulation (the TCG test VM);
    // tests share sessions per file. These are safety nets, not speed targets.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    // Set by scripts/vmhost/run-in-vm.sh --auto (scripts/test.sh) when microVMs run under nested
    // emulation, where one occasionally dies (scripts/vmhost/README.md): a failed test gets one more
    // try there, never on KVM, and only when a microVM triple fault explains the failure
    // (emulator-retry.ts).
    retry: process.env.AI_SDK_MICROSANDBOX_EMULATED === '1' ? 1 : 0,
    // A rerun after the test VM died skips what passed (skip-passed.ts, scripts/test.sh).
    setupFiles: ['__test__/support/emulator-retry.ts', '__test__/support/skip-passed.ts'],
  },
});
