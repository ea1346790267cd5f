import { defineConfig } from 'vitest/config';
import { fromSources } from './vitest.config.js';

/**
 * The fault tests (packages/server/test/faults): they kill nodes and restart the machine's
 * PostgreSQL and Redis, so they run after the main pass, one file at a time in one worker, never
 * beside tests that use those services.
 */
export default defineConfig({
  resolve: { alias: fromSources.alias },
  test: {
    include: ['packages/server/test/faults/**/*.test.ts'],
    globalSetup: fromSources.globalSetup,
    testTimeout: 540_000,
    hookTimeout: 480_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
  },
});
