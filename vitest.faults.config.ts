import { defineConfig } from 'vitest/config';
import { fromSources } from './vitest.config.js';

/**
 * The fault tests (packages/server/test/faults): they kill nodes and stop and start PostgreSQL and
 * Redis. Their global setup makes a PostgreSQL cluster and a Redis of their own on free ports
 * (removed after the pass), so the machine's services are never touched; the tests run after the
 * main pass, one file at a time in one worker, as they load this 2-core machine heavily.
 */
export default defineConfig({
  resolve: { alias: fromSources.alias },
  test: {
    include: ['packages/server/test/faults/**/*.test.ts'],
    globalSetup: [...fromSources.globalSetup, 'packages/server/test/faults/global-setup.ts'],
    testTimeout: 540_000,
    hookTimeout: 480_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
  },
});
