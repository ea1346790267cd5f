import { defineConfig } from 'vitest/config';

/**
 * The fault tests (packages/server/test/faults): they kill nodes and restart the machine's
 * PostgreSQL and Redis, so they run after the main pass, one file at a time in one worker, never
 * beside tests that use those services.
 */
export default defineConfig({
  test: {
    include: ['packages/server/test/faults/**/*.test.ts'],
    testTimeout: 540_000,
    hookTimeout: 480_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
  },
});
