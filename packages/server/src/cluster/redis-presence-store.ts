import type { PresenceState } from '@natter/protocol';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { PresenceStore } from '../presence/presence-store.js';
import { DropReporter } from './drop-reporter.js';
import { DEFAULT_MAX_IN_FLIGHT, InFlightCap } from './in-flight-cap.js';
import {
  chunksOf,
  closeRedis,
  isRedisUp,
  openSubscriber,
  REDIS_NOW_MS,
  RedisScript,
  writeOrDrop,
} from './redis-connection.js';

export interface RedisPresenceStoreOptions {
  /** Prepended to every key and channel, so several clusters (or test runs) can share one Redis. */
  prefix: string;
  /** This node: a user stays online while any node holds a live beat for them. */
  nodeId: string;
  ttlMs: number;
  /** How often this node looks for users whose TTL ran out; default a quarter TTL, 25 ms to 1 s. */
  sweepIntervalMs?: number;
  /**
   * A user's beats after the first are written at most once per this interval (default a tenth of
   * the TTL, at most 1 s): the gateway beats on every frame, and one Redis write per frame would
   * cost more than the frame. The latest beat is always written, at the end of its interval.
   */
  beatResolutionMs?: number;
}

/** Users expired per sweep call: bounds how long one call holds Redis; a full batch sweeps again. */
const SWEEP_BATCH = 500;
/** Users per call when coalesced beats are written, for the same reason. */
const BEAT_BATCH = 500;

/*
 * The keys, for user U:
 *   <prefix>presence:on:U       hash node -> expiry, the key itself expiring with the latest beat
 *   <prefix>presence:deadlines  sorted set U -> when U goes offline unless someone beats
 *   <prefix>presence:last-seen  hash U -> last seen (ms since the epoch, the caller's clock), no TTL
 * and transitions are published on the channel <prefix>presence as "1|0 \n last_seen \n U".
 * Expiries are on the Redis clock, so nodes with skewed clocks agree on them. A user is online for
 * listeners exactly while they are in the deadlines set, which only these scripts change, so each
 * transition is published once whichever node causes it.
 */

/**
 * KEYS: deadlines, last-seen, then the on key of each user. ARGV: node, ttl, channel, then a user and
 * the time of their beat for each on key. One call beats for many users (a flush of coalesced beats).
 */
const BEAT = new RedisScript(`${REDIS_NOW_MS}
local ttl = tonumber(ARGV[2])
local expiresAt = nowMs + ttl
for k = 3, #KEYS do
  local user = ARGV[2 * k - 2]
  local now = tonumber(ARGV[2 * k - 1])
  local wasOnline = redis.call('ZSCORE', KEYS[1], user)
  redis.call('HSET', KEYS[k], ARGV[1], expiresAt)
  redis.call('PEXPIRE', KEYS[k], ttl)
  redis.call('ZADD', KEYS[1], expiresAt, user)
  local seen = tonumber(redis.call('HGET', KEYS[2], user) or '0')
  if now > seen then
    seen = now
    redis.call('HSET', KEYS[2], user, ARGV[2 * k - 1])
  end
  if not wasOnline then
    redis.call('PUBLISH', ARGV[3], '1\\n' .. string.format('%d', seen) .. '\\n' .. user)
  end
end
return 0`);

/**
 * KEYS: on, deadlines, last-seen. ARGV: user, node, now, channel. Another node's live beat keeps the
 * user online (with the deadline and key TTL cut to that beat's); else offline, last seen now.
 */
const LEAVE = new RedisScript(`${REDIS_NOW_MS}
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
redis.call('HDEL', KEYS[1], ARGV[2])
local latest = 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local expiresAt = tonumber(fields[i + 1])
  if expiresAt > latest then latest = expiresAt end
end
if latest > nowMs then
  redis.call('PEXPIREAT', KEYS[1], latest)
  redis.call('ZADD', KEYS[2], latest, ARGV[1])
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local seen = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if tonumber(ARGV[3]) > seen then
  seen = tonumber(ARGV[3])
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
end
redis.call('PUBLISH', ARGV[4], '0\\n' .. string.format('%d', seen) .. '\\n' .. ARGV[1])
return 1`);

/**
 * KEYS: deadlines, last-seen. ARGV: prefix of the on keys, channel, batch. Takes users whose deadline
 * passed out of the set and announces them offline. The on keys are named here rather than passed
 * in, so this runs on one Redis (or a primary with replicas), not on a Redis Cluster.
 */
const SWEEP = new RedisScript(`${REDIS_NOW_MS}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', nowMs, 'LIMIT', 0, tonumber(ARGV[3]))
for _, user in ipairs(due) do
  redis.call('ZREM', KEYS[1], user)
  redis.call('DEL', ARGV[1] .. user)
  local seen = redis.call('HGET', KEYS[2], user) or '0'
  redis.call('PUBLISH', ARGV[2], '0\\n' .. seen .. '\\n' .. user)
end
return #due`);

/**
 * KEYS: last-seen, then one on key per user. Returns per user: 1 if online else 0, then last seen
 * (false when never seen).
 */
const GET = new RedisScript(`local out = {}
for i = 2, #KEYS do
  out[#out + 1] = redis.call('EXISTS', KEYS[i])
  out[#out + 1] = redis.call('HGET', KEYS[1], ARGV[i - 1])
end
return out`);

/**
 * PresenceStore over Redis, shared by every node of a cluster. Every node sweeps (the script makes
 * a due user go offline once, whichever node gets there first), so a node that dies still leaves
 * its users offline within TTL + one sweep interval, as long as any node lives. Transitions travel
 * over pub/sub and may be lost while a node is cut off from Redis; `get` always answers from the
 * keys, so a watcher's next subscription sees the truth.
 *
 * Beats are coalesced per user (see `beatResolutionMs`): the first goes to Redis at once (so the
 * online transition is not delayed), later ones within the interval only update a pending time
 * that is written at its end. A user's deadline therefore runs from a write no earlier than their
 * last beat, and `last_seen` is exact on this node and at most one interval behind on others.
 */
export class RedisPresenceStore implements PresenceStore {
  private readonly listeners: Array<(state: PresenceState) => void> = [];
  private readonly drops: DropReporter;
  private readonly writes = new InFlightCap(DEFAULT_MAX_IN_FLIGHT);
  private readonly keys: { deadlines: string; lastSeen: string; onPrefix: string; channel: string };
  /**
   * Users whose beat this node wrote in the current interval -> the time of a later beat still to
   * write (null: none). A user missing here gets their next beat written at once.
   */
  private recentBeats = new Map<string, number | null>();
  private sweeper: NodeJS.Timeout | undefined;
  private flusher: NodeJS.Timeout | undefined;
  private sweeping = false;

  private constructor(
    private readonly client: Redis,
    private readonly subscriber: Redis,
    private readonly options: RedisPresenceStoreOptions,
    metrics: Pick<Metrics, 'presenceDropped'>,
    private readonly log: Logger,
  ) {
    this.drops = new DropReporter(metrics.presenceDropped, log, 'presence write');
    const { prefix } = options;
    this.keys = {
      deadlines: `${prefix}presence:deadlines`,
      lastSeen: `${prefix}presence:last-seen`,
      onPrefix: `${prefix}presence:on:`,
      channel: `${prefix}presence`,
    };
  }

  /** Resolves once this node hears transitions (its subscription is live) and sweeps. */
  static async open(
    client: Redis,
    options: RedisPresenceStoreOptions,
    metrics: Pick<Metrics, 'presenceDropped'>,
    log: Logger,
  ): Promise<RedisPresenceStore> {
    const subscriber = await openSubscriber(client, log);
    const store = new RedisPresenceStore(client, subscriber, options, metrics, log);
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === store.keys.channel) store.heard(message);
    });
    await subscriber.subscribe(store.keys.channel).catch(async (error: unknown) => {
      await closeRedis(subscriber);
      throw error;
    });
    const interval = options.sweepIntervalMs ?? Math.max(25, Math.min(1000, options.ttlMs / 4));
    store.sweeper = setInterval(() => void store.sweep(), interval);
    store.sweeper.unref();
    const resolution = options.beatResolutionMs ?? Math.min(1000, options.ttlMs / 10);
    store.flusher = setInterval(() => store.flushBeats(), resolution);
    store.flusher.unref();
    return store;
  }

  async beat(userId: string, now: number): Promise<void> {
    if (this.recentBeats.has(userId)) {
      this.recentBeats.set(userId, Math.max(this.recentBeats.get(userId) ?? now, now));
      return;
    }
    this.recentBeats.set(userId, null);
    await this.writeBeats([[userId, now]]);
  }

  async leave(userId: string, now: number): Promise<void> {
    // A pending beat is older than the leave, which supersedes it.
    this.recentBeats.delete(userId);
    const { deadlines, lastSeen, onPrefix, channel } = this.keys;
    const args = [userId, this.options.nodeId, now, channel];
    await writeOrDrop(this.client, this.writes, this.drops, () =>
      LEAVE.run(this.client, [onPrefix + userId, deadlines, lastSeen], args),
    );
  }

  async get(userIds: string[]): Promise<PresenceState[]> {
    if (userIds.length === 0) return [];
    const reply = await GET.run(
      this.client,
      [this.keys.lastSeen, ...userIds.map((u) => this.keys.onPrefix + u)],
      userIds,
    );
    if (!Array.isArray(reply)) throw new Error('Unexpected presence reply.');
    return userIds.map((userId, i) => {
      const stored: unknown = reply[2 * i + 1];
      const pending = this.recentBeats.get(userId) ?? null;
      const seen = stored == null ? pending : Math.max(Number(stored), pending ?? 0);
      return { user_id: userId, online: reply[2 * i] === 1, last_seen: seen };
    });
  }

  onChange(listener: (state: PresenceState) => void): void {
    this.listeners.push(listener);
  }

  /** Stops sweeping and listening; the command connection belongs to whoever passed it in. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    clearInterval(this.flusher);
    await closeRedis(this.subscriber);
  }

  /** Writes the beats that waited for the interval to end; users who did not beat again start afresh. */
  private flushBeats(): void {
    const due = this.recentBeats;
    this.recentBeats = new Map();
    const beats: Array<[string, number]> = [];
    for (const [userId, pending] of due) {
      if (pending === null) continue;
      this.recentBeats.set(userId, null);
      beats.push([userId, pending]);
    }
    // In batches: a call per user would meet the in-flight cap when many users are busy.
    for (const batch of chunksOf(beats, BEAT_BATCH)) void this.writeBeats(batch);
  }

  private writeBeats(beats: Array<[string, number]>): Promise<void> {
    const { deadlines, lastSeen, onPrefix, channel } = this.keys;
    const keys = [deadlines, lastSeen, ...beats.map(([userId]) => onPrefix + userId)];
    const args = [this.options.nodeId, this.options.ttlMs, channel, ...beats.flat()];
    return writeOrDrop(this.client, this.writes, this.drops, () => BEAT.run(this.client, keys, args));
  }

  private async sweep(): Promise<void> {
    // A sweep still running (Redis slow) is not doubled up; the next tick catches up.
    if (this.sweeping || !isRedisUp(this.client)) return;
    this.sweeping = true;
    const { deadlines, lastSeen, onPrefix, channel } = this.keys;
    try {
      let expired = SWEEP_BATCH;
      while (expired === SWEEP_BATCH) {
        expired = Number(
          await SWEEP.run(this.client, [deadlines, lastSeen], [onPrefix, channel, SWEEP_BATCH]),
        );
      }
    } catch (error) {
      this.log.warn({ err: error }, 'presence sweep failed');
    } finally {
      this.sweeping = false;
    }
  }

  private heard(message: string): void {
    const [online, seen, ...rest] = message.split('\n');
    // The user id is everything after the second newline, newlines included.
    const userId = rest.join('\n');
    if ((online !== '1' && online !== '0') || seen === undefined || rest.length === 0) {
      this.log.warn({ message }, 'malformed presence transition');
      return;
    }
    const state: PresenceState = { user_id: userId, online: online === '1', last_seen: Number(seen) };
    for (const listener of this.listeners) listener(state);
  }
}
