import { describe, expect, it } from 'vitest';
import { RedisClusterBus } from '../../src/cluster/redis-cluster-bus.js';
import { RedisConnectionRegistry } from '../../src/cluster/redis-connection-registry.js';
import { RedisNodeLiveness } from '../../src/cluster/redis-node-liveness.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics.js';
import { droppedBy } from '../helpers/bus.js';
import { redisReachable, useTestRedis } from '../helpers/redis.js';
import { describeBusConformance } from './bus.conformance.js';
import { describeLivenessConformance } from './liveness.conformance.js';
import { describeRegistryConformance } from './registry.conformance.js';

const TTL_MS = 200;
const log = createLogger('silent');

describe.runIf(await redisReachable())('Redis', () => {
  const redis = useTestRedis();

  describeRegistryConformance('Redis', async () => {
    const prefix = redis.freshPrefix();
    const client = await redis.connect();
    return {
      ttlMs: TTL_MS,
      openNode: async (nodeId) =>
        new RedisConnectionRegistry(client, { prefix, nodeId, ttlMs: TTL_MS }, new Metrics(), log),
      close: async () => {},
    };
  });

  describeLivenessConformance('Redis', async () => ({
    liveness: new RedisNodeLiveness(await redis.connect(), { prefix: redis.freshPrefix(), ttlMs: TTL_MS }),
    ttlMs: TTL_MS,
    close: async () => {},
  }));

  describeBusConformance('Redis', async () => {
    const prefix = redis.freshPrefix();
    return {
      openNode: async () => {
        const metrics = new Metrics();
        const bus = new RedisClusterBus(await redis.connect(), { prefix }, metrics, log);
        return { bus, metrics };
      },
      close: async () => {},
    };
  });

  describe('RedisClusterBus when Redis is slow or gone', () => {
    it('drops publishes beyond its in-flight cap at once instead of queueing them', async () => {
      const prefix = redis.freshPrefix();
      const receiver = new RedisClusterBus(await redis.connect(), { prefix }, new Metrics(), log);
      const received: string[] = [];
      await receiver.subscribe('node-r', (payload) => received.push(payload));
      const metrics = new Metrics();
      const sender = new RedisClusterBus(await redis.connect(), { prefix, maxInFlight: 10 }, metrics, log);
      try {
        // One event-loop turn: none of the answers can have arrived, so only 10 are in flight.
        for (let i = 0; i < 100; i += 1) sender.publish('node-r', `m${i}`);
        expect(await droppedBy(metrics, 'backlog')).toBe(90);
        await expect.poll(() => received.length).toBe(10);
        expect(received).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));

        // Once answered, the cap frees up again.
        await expect.poll(async () => (await metrics.busPublished.get()).values[0]?.value).toBe(10);
        sender.publish('node-r', 'later');
        await expect.poll(() => received.at(-1)).toBe('later');
      } finally {
        await Promise.all([receiver.close(), sender.close()]);
      }
    });

    it('drops and counts without blocking or queueing while disconnected', async () => {
      const client = await redis.connect();
      const metrics = new Metrics();
      const bus = new RedisClusterBus(client, { prefix: redis.freshPrefix() }, metrics, log);
      client.disconnect();
      await expect.poll(() => client.status).not.toBe('ready');
      const started = performance.now();
      for (let i = 0; i < 50_000; i += 1) bus.publish('node-x', 'payload');
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(await droppedBy(metrics, 'disconnected')).toBe(50_000);
      // Nothing was handed to ioredis to hold until a reconnect.
      expect(client.commandQueue.length).toBe(0);
    });
  });
});
