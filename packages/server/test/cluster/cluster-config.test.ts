import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadConfig, resolveConfig } from '../../src/config.js';
import { MAIN_JS } from '../helpers/process.js';

/** Cluster settings are checked together at start, and a wrong combination says what to set. */
describe('cluster configuration', () => {
  it('defaults to the embedded set-up: SQLite, no cluster', () => {
    const config = resolveConfig();
    expect(config).toMatchObject({ store: 'sqlite', cluster: 'none', redisPrefix: 'natter:' });
    expect(config.nodeId).toBeUndefined();
  });

  it('reads the cluster settings from the environment, with the conventional URL variables', () => {
    const config = loadConfig(
      {
        NATTER_STORE: 'postgres',
        DATABASE_URL: 'postgres://natter@db:5432/natter',
        NATTER_CLUSTER: 'redis',
        REDIS_URL: 'redis://cache:6379',
        NATTER_NODE_ID: 'node-7',
        NATTER_CLUSTER_HEARTBEAT_MS: '1000',
        NATTER_CLUSTER_TTL_MS: '3000',
      },
      [],
    );
    expect(config).toMatchObject({
      store: 'postgres',
      databaseUrl: 'postgres://natter@db:5432/natter',
      cluster: 'redis',
      redisUrl: 'redis://cache:6379',
      nodeId: 'node-7',
      clusterHeartbeatMs: 1000,
      clusterTtlMs: 3000,
    });
  });

  it.each([
    [{ store: 'postgres' }, /NATTER_STORE=postgres needs DATABASE_URL/],
    [
      { store: 'postgres', databaseUrl: 'postgres://x/y', cluster: 'redis' },
      /NATTER_CLUSTER=redis needs REDIS_URL/,
    ],
    [{ cluster: 'redis', redisUrl: 'redis://x' }, /needs a store the nodes share: set NATTER_STORE=postgres/],
    [{ clusterHeartbeatMs: 1000, clusterTtlMs: 1500 }, /at least twice NATTER_CLUSTER_HEARTBEAT_MS/],
    [{ nodeId: 'two words' }, /NATTER_NODE_ID/],
  ] as const)('refuses %o', (input, message) => {
    expect(() => resolveConfig(input)).toThrow(message);
  });

  it('the server exits at start with the message alone, no stack trace', () => {
    const run = spawnSync(process.execPath, [MAIN_JS], {
      env: { ...process.env, NATTER_STORE: 'postgres', DATABASE_URL: '' },
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe(
      'natter: NATTER_STORE=postgres needs DATABASE_URL (postgres://user:password@host:5432/db).',
    );
  });
});
