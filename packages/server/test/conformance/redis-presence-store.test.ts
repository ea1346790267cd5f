import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RedisPresenceStore } from '../../src/cluster/redis-presence-store.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics.js';
import { redisReachable, useTestRedis } from '../helpers/redis.js';
import { describePresenceStoreConformance } from './presence-store.conformance.js';

const TTL_MS = 200;
const SWEEP_MS = 50;

describe.runIf(await redisReachable())('Redis', () => {
  const redis = useTestRedis();

  describePresenceStoreConformance(
    'Redis',
    async () => {
      const prefix = redis.freshPrefix();
      const client = await redis.connect();
      const openNode = (nodeId: string) =>
        RedisPresenceStore.open(
          client,
          { prefix, nodeId, ttlMs: TTL_MS, sweepIntervalMs: SWEEP_MS },
          new Metrics(),
          createLogger('silent'),
        );
      const store = await openNode('node-a');
      return {
        store,
        ttlMs: TTL_MS,
        sweepIntervalMs: SWEEP_MS,
        openPeer: () => openNode(`node-${randomUUID()}`),
        close: () => store.close(),
      };
    },
    { cluster: true },
  );

  describe('RedisPresenceStore beat coalescing', () => {
    it('writes the first of a burst of beats at once and the latest at the end of the interval', async () => {
      const prefix = redis.freshPrefix();
      const client = await redis.connect();
      const openNode = (nodeId: string) =>
        RedisPresenceStore.open(
          client,
          { prefix, nodeId, ttlMs: 10_000, beatResolutionMs: 300 },
          new Metrics(),
          createLogger('silent'),
        );
      const [busy, other] = [await openNode('node-busy'), await openNode('node-other')];
      try {
        const user = `u-${randomUUID()}`;
        const t0 = Date.now();
        // One synchronous burst: no interval can end inside it.
        for (let i = 0; i <= 100; i += 1) void busy.beat(user, t0 + i);
        const seenElsewhere = other.get([user]);
        const seenHere = busy.get([user]);
        expect(await seenElsewhere).toEqual([{ user_id: user, online: true, last_seen: t0 }]);
        expect(await seenHere).toEqual([{ user_id: user, online: true, last_seen: t0 + 100 }]);
        await expect
          .poll(async () => (await other.get([user]))[0]?.last_seen, { timeout: 1_000, interval: 20 })
          .toBe(t0 + 100);

        // Many busy users: their pending beats are written too (in batches).
        const crowd = Array.from({ length: 1_200 }, (_, i) => `crowd${i}-${randomUUID()}`);
        const t1 = Date.now();
        for (const u of crowd) void busy.beat(u, t1);
        for (const u of crowd) void busy.beat(u, t1 + 1);
        await expect
          .poll(async () => (await other.get(crowd)).every((s) => s.online && s.last_seen === t1 + 1), {
            timeout: 1_000,
            interval: 20,
          })
          .toBe(true);
      } finally {
        await Promise.all([busy.close(), other.close()]);
      }
    });
  });
});
