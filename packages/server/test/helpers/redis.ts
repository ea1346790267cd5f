import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { closeRedis, openRedis } from '../../src/cluster/redis-connection.js';
import { createLogger } from '../../src/log.js';

/** The Redis the tests use: NATTER_TEST_REDIS_URL, else the local default. */
export const REDIS_URL = process.env.NATTER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Whether Redis answers. On a developer machine an unreachable Redis is a loud warning and the
 * caller skips its Redis tests; under CI=true it throws, so those tests fail instead of silently
 * not running.
 */
export async function redisReachable(): Promise<boolean> {
  const probe = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch (error) {
    if (process.env.CI === 'true') {
      throw new Error(`Redis is required under CI but ${REDIS_URL} is not reachable`, { cause: error });
    }
    console.warn(
      `\n${'!'.repeat(78)}\n!!! Redis at ${REDIS_URL} is not reachable: the Redis tests are SKIPPED.\n` +
        `!!! Start it (redis-server) or set NATTER_TEST_REDIS_URL. Under CI=true they fail.\n${'!'.repeat(78)}\n`,
    );
    return false;
  } finally {
    probe.disconnect();
  }
}

export interface TestRedis {
  /**
   * A key prefix no other test (in this file, another file or another run) uses, so that the nodes
   * of one test never meet another's keys. Every one is deleted after the block.
   */
  freshPrefix(): string;
  /** A new command connection, as a node would open one; closed (and its keys deleted) after all tests. */
  connect(): Promise<Redis>;
}

/** Call inside a describe block: connections and keys under the prefix are cleaned up after it. */
export function useTestRedis(): TestRedis {
  const prefix = `natter-test:${randomUUID()}:`;
  let issued = 0;
  const clients: Redis[] = [];
  afterAll(async () => {
    const client = clients.find((c) => c.status === 'ready');
    if (client) await deleteKeys(client, prefix);
    await Promise.all(clients.map((c) => closeRedis(c)));
  });
  return {
    freshPrefix() {
      issued += 1;
      return `${prefix}${issued}:`;
    },
    async connect() {
      const client = openRedis(REDIS_URL, createLogger('silent'));
      clients.push(client);
      await waitUntilReady(client);
      return client;
    },
  };
}

async function waitUntilReady(client: Redis): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve);
    client.once('end', () => reject(new Error('Redis connection ended before it was ready')));
  });
}

async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await client.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}
