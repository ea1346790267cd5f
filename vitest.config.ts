import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * What both passes share. Tests import the workspace packages from their sources, never from their
 * dist/ (the packages' exports point there); the global setup rebuilds dist for the code that still
 * runs compiled (worker threads, node processes, the web app's bundle).
 */
export const fromSources = {
  globalSetup: ['test/global-setup.ts'],
  alias: [
    // Before the package roots: a subpath would otherwise resolve below the root's index.ts.
    { find: '@natter/protocol/core', replacement: source('protocol/src/core.ts') },
    ...['protocol', 'client', 'server'].map((name) => ({
      find: `@natter/${name}`,
      replacement: source(`${name}/src/index.ts`),
    })),
  ],
};

function source(path: string): string {
  return fileURLToPath(new URL(`./packages/${path}`, import.meta.url));
}

export default defineConfig({
  resolve: { alias: fromSources.alias },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'packages/*/src/**/*.test.ts', 'e2e/**/*.test.ts'],
    // The fault tests kill nodes and restart PostgreSQL and Redis: they run alone (vitest.faults.config.ts).
    exclude: ['**/node_modules/**', '**/.git/**', '**/dist/**', 'packages/server/test/faults/**'],
    globalSetup: fromSources.globalSetup,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
