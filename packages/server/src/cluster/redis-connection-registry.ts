import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { ConnectionRegistry } from './connection-registry.js';
import { DropReporter } from './drop-reporter.js';
import { DEFAULT_MAX_IN_FLIGHT, InFlightCap } from './in-flight-cap.js';
import { chunksOf, REDIS_NOW_MS, RedisScript, writeOrDrop } from './redis-connection.js';

export interface RedisConnectionRegistryOptions {
  /** Prepended to every key, so several clusters (or test runs) can share one Redis. */
  prefix: string;
  nodeId: string;
  ttlMs: number;
}

/** Users per script call: bounds how long one call holds Redis. */
const BATCH = 500;

/**
 * KEYS: one registry hash per user. ARGV: node, ttl. Sets node -> expiry in each hash, forgets
 * fields that expired (nodes that died) and re-arms the hash's own TTL, so that the whole key goes
 * once no node refreshes it.
 */
const ARM = new RedisScript(`${REDIS_NOW_MS}
local expiresAt = nowMs + tonumber(ARGV[2])
for _, key in ipairs(KEYS) do
  local fields = redis.call('HGETALL', key)
  for i = 1, #fields, 2 do
    if tonumber(fields[i + 1]) <= nowMs then redis.call('HDEL', key, fields[i]) end
  end
  redis.call('HSET', key, ARGV[1], expiresAt)
  redis.call('PEXPIRE', key, ARGV[2])
end
return 0`);

/** KEYS: one registry hash per user. Returns, per key, the nodes whose entry has not expired. */
const LOOKUP = new RedisScript(`${REDIS_NOW_MS}
local found = {}
for k, key in ipairs(KEYS) do
  local live = {}
  local fields = redis.call('HGETALL', key)
  for i = 1, #fields, 2 do
    if tonumber(fields[i + 1]) > nowMs then live[#live + 1] = fields[i] end
  end
  found[k] = live
end
return found`);

/**
 * ConnectionRegistry over Redis: `<prefix>reg:<user>` is a hash node -> expiry (ms on the Redis
 * clock), and the key itself expires one TTL after its last write. Each call is one Lua script, so
 * it is atomic per user (and per batch of users).
 */
export class RedisConnectionRegistry implements ConnectionRegistry {
  private readonly held = new Set<string>();
  private readonly drops: DropReporter;
  private readonly writes = new InFlightCap(DEFAULT_MAX_IN_FLIGHT);

  constructor(
    private readonly client: Redis,
    private readonly options: RedisConnectionRegistryOptions,
    metrics: Pick<Metrics, 'registryDropped'>,
    log: Logger,
  ) {
    this.drops = new DropReporter(metrics.registryDropped, log, 'connection registry write');
  }

  async add(userId: string): Promise<void> {
    this.held.add(userId);
    await this.arm([userId]);
  }

  async remove(userId: string): Promise<void> {
    this.held.delete(userId);
    await this.write(() => this.client.hdel(this.keyOf(userId), this.options.nodeId));
  }

  async refresh(): Promise<void> {
    await this.arm([...this.held]);
  }

  async nodesOf(userIds: Iterable<string>): Promise<Map<string, string[]>> {
    const batches = chunksOf([...new Set(userIds)], BATCH);
    const replies = await Promise.all(
      batches.map((batch) =>
        LOOKUP.run(
          this.client,
          batch.map((u) => this.keyOf(u)),
          [],
        ),
      ),
    );
    const found = new Map<string, string[]>();
    batches.forEach((batch, b) => {
      const reply = replies[b];
      if (!Array.isArray(reply)) throw new Error('Unexpected registry lookup reply.');
      batch.forEach((userId, i) => {
        const nodes: unknown = reply[i];
        if (Array.isArray(nodes) && nodes.length > 0) found.set(userId, nodes.map(String).sort());
      });
    });
    return found;
  }

  /** Stops speaking for this node; its entries expire like those of a node that died. */
  async close(): Promise<void> {
    this.held.clear();
  }

  private async arm(userIds: string[]): Promise<void> {
    const { nodeId, ttlMs } = this.options;
    await Promise.all(
      chunksOf(userIds, BATCH).map((batch) => {
        const keys = batch.map((u) => this.keyOf(u));
        return this.write(() => ARM.run(this.client, keys, [nodeId, ttlMs]));
      }),
    );
  }

  /** A write the backend cannot take now is dropped: the next refresh repairs it. */
  private write(call: () => Promise<unknown>): Promise<void> {
    return writeOrDrop(this.client, this.writes, this.drops, call);
  }

  private keyOf(userId: string): string {
    return `${this.options.prefix}reg:${userId}`;
  }
}
