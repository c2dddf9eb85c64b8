import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['__test__/**/*.spec.ts'],
    // microVM boots take seconds on KVM but up to minutes under emulation (the TCG test VM);
    // tests share sessions per file. These are safety nets, not speed targets.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
