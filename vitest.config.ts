import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native addons and their thread pools are safest in forked processes, one file per fork.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ['test/helpers/global-setup.ts'],
    // gc() lets the memory and lifetime tests measure and provoke the collector.
    execArgv: ['--expose-gc'],
  },
});
