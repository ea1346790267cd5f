import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'packages/*/src/**/*.test.ts', 'e2e/**/*.test.ts'],
    // The fault tests restart the shared PostgreSQL and Redis: they run alone (vitest.faults.config.ts).
    exclude: ['**/node_modules/**', '**/.git/**', '**/dist/**', 'packages/server/test/faults/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
