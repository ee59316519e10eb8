import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // chDB allows one data directory per process: every test file gets its own process.
    pool: 'forks',
    poolOptions: { forks: { singleFork: false, maxForks: 2, minForks: 1 } },
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Builds dist/ when stale (test/support/build-global.ts); tags the Kafka test broker with this run; under CI stops it at the end (test/support/kafka.ts).
    globalSetup: ['test/support/build-global.ts', 'test/support/kafka-global.ts'],
    reporters: ['default'],
  },
})
