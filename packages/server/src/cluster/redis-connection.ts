import { createHash } from 'node:crypto';
import { NatterError } from '@natter/protocol';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DropReporter } from './drop-reporter.js';
import type { InFlightCap } from './in-flight-cap.js';

/** A command unanswered this long fails, so that nothing waits on a stuck Redis for long. */
const COMMAND_TIMEOUT_MS = 5_000;

/**
 * Opens a command connection with the settings every Redis adapter relies on: no offline queue (a
 * command issued while Redis is down fails at once instead of waiting in memory without bound), one
 * retry and a timeout per command, and automatic pipelining (commands issued in one event-loop turn
 * share one write, which is what makes a beat or a publish per frame affordable).
 */
export function openRedis(url: string, log: Logger): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: COMMAND_TIMEOUT_MS,
    enableAutoPipelining: true,
  });
  logConnectionErrors(client, log);
  return client;
}

/** True when a command sent now goes straight to the server (not into a reconnect). */
export function isRedisUp(client: Redis): boolean {
  return client.status === 'ready';
}

/**
 * A second connection for SUBSCRIBE (a subscribed connection cannot run other commands), resolved
 * once connected. ioredis re-subscribes it by itself after a reconnect.
 */
export async function openSubscriber(client: Redis, log: Logger): Promise<Redis> {
  const subscriber = client.duplicate({ lazyConnect: true, enableAutoPipelining: false });
  logConnectionErrors(subscriber, log);
  await subscriber.connect();
  return subscriber;
}

/**
 * ioredis reports every failed reconnect attempt as an 'error' event (and crashes nothing without
 * a listener, but prints to stderr); one warning per outage is what an operator needs.
 */
function logConnectionErrors(client: Redis, log: Logger): void {
  let reported = false;
  client.on('error', (error: unknown) => {
    if (!reported) log.warn({ err: error }, 'redis connection error; reconnecting');
    reported = true;
  });
  client.on('ready', () => {
    if (reported) log.info('redis connection ready again');
    reported = false;
  });
}

/**
 * A write nobody waits for (a beat, a registry entry, a publish): made only while Redis is up and
 * the cap allows, and never rejected: a write refused or failed is counted and logged as a drop.
 */
export async function writeOrDrop(
  client: Redis,
  cap: InFlightCap,
  drops: DropReporter,
  write: () => Promise<unknown>,
  bytes = 0,
): Promise<void> {
  if (!isRedisUp(client)) return drops.drop('disconnected');
  const written = cap.tryCall(write, bytes);
  if (!written) return drops.drop('backlog');
  await written.then(
    () => undefined,
    (error: unknown) => drops.drop('error', error),
  );
}

/** Closes politely, and at once if the server cannot be reached to say goodbye. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (!isRedisUp(client)) {
    client.disconnect();
    return;
  }
  await client.quit().catch(() => client.disconnect());
}

/** Milliseconds on the Redis server's clock, so that every node measures TTLs against one clock. */
export const REDIS_NOW_MS = `local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * A Lua script run by its SHA (EVALSHA), loaded on first use or after a server restart (NOSCRIPT).
 * Scripts are atomic on the server, which is where each adapter's "what is atomic" comes from.
 * Rejects with a retryable `unavailable` when Redis is down or the call fails.
 */
export class RedisScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    if (!isRedisUp(client)) throw new NatterError('unavailable', 'Redis is not connected.');
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw unavailable(error);
      return client.eval(this.source, keys.length, ...keys, ...args).catch((retried: unknown) => {
        throw unavailable(retried);
      });
    }
  }
}

function unavailable(cause: unknown): NatterError {
  return new NatterError('unavailable', 'Redis call failed.', { cause });
}

/** Splits a large batch so that no single script holds Redis (single-threaded) for long. */
export function chunksOf<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
