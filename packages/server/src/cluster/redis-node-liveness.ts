import type { Redis } from 'ioredis';
import type { NodeLiveness } from './node-liveness.js';
import { REDIS_NOW_MS, RedisScript } from './redis-connection.js';

export interface RedisNodeLivenessOptions {
  /** Prepended to every key, so several clusters (or test runs) can share one Redis. */
  prefix: string;
  ttlMs: number;
}

/**
 * KEYS: the node's key, the index of nodes. ARGV: node, ttl. The key (with its TTL) is what an
 * operator sees; the sorted set of expiries is what lets `liveNodes` list without a SCAN.
 */
const BEAT = new RedisScript(`${REDIS_NOW_MS}
redis.call('SET', KEYS[1], nowMs, 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], nowMs + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', nowMs)
return 0`);

const LEAVE = new RedisScript(`redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 0`);

/** KEYS: the index of nodes. Returns the nodes whose expiry is still ahead. */
const LIVE = new RedisScript(`${REDIS_NOW_MS}
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. nowMs, '+inf')`);

/** NodeLiveness over Redis: `<prefix>node:<id>` with a TTL per node, `<prefix>nodes` indexing them. */
export class RedisNodeLiveness implements NodeLiveness {
  constructor(
    private readonly client: Redis,
    private readonly options: RedisNodeLivenessOptions,
  ) {}

  async beat(nodeId: string): Promise<void> {
    await BEAT.run(this.client, this.keysOf(nodeId), [nodeId, this.options.ttlMs]);
  }

  async leave(nodeId: string): Promise<void> {
    await LEAVE.run(this.client, this.keysOf(nodeId), [nodeId]);
  }

  async liveNodes(): Promise<string[]> {
    const reply = await LIVE.run(this.client, [`${this.options.prefix}nodes`], []);
    if (!Array.isArray(reply)) throw new Error('Unexpected live nodes reply.');
    return reply.map(String).sort();
  }

  private keysOf(nodeId: string): string[] {
    return [`${this.options.prefix}node:${nodeId}`, `${this.options.prefix}nodes`];
  }
}
