import { rm } from 'node:fs/promises';
import type { ChatEvent } from '@natter/protocol';
import { afterAll, beforeAll } from 'vitest';
import WebSocket from 'ws';
import { NatterClient } from '../../../client/src/index.js';
import type { WebSocketLike } from '../../../client/src/socket.js';
import type { ConfigInput } from '../../src/config.js';
import { reachablePostgres, useTestDatabase } from '../helpers/postgres.js';
import { type ChildServer, spawnServer } from '../helpers/process.js';
import { REDIS_URL, redisReachable, type TestRedis, useTestRedis } from '../helpers/redis.js';
import { JWT_SECRET, makeDataDir, signToken } from '../helpers/server.js';

/** Short intervals, so that expiry and healing happen within a test's patience. */
export const CLUSTER_TIMINGS = {
  pingIntervalMs: 400,
  presenceTtlMs: 1_500,
  typingTtlMs: 1_000,
  typingMinIntervalMs: 0,
  clusterHeartbeatMs: 300,
  clusterTtlMs: 1_500,
  drainMaxDelayMs: 100,
} as const;

/**
 * The config of in-process node `index` of a test cluster on `backends` (the tests that run nodes
 * in this process, to wrap their buses, start them with it).
 */
export function inProcessNodeConfig(backends: ClusterBackends, dataDir: string, index: number): ConfigInput {
  return {
    ...CLUSTER_TIMINGS,
    port: 0,
    host: '127.0.0.1',
    dataDir,
    webDir: 'off',
    logLevel: 'silent',
    jwtSecret: JWT_SECRET,
    store: 'postgres',
    databaseUrl: backends.databaseUrl,
    cluster: 'redis',
    redisUrl: REDIS_URL,
    redisPrefix: backends.prefix,
    nodeId: `node-${index}`,
  };
}

/**
 * The PostgreSQL admin URL when both PostgreSQL and Redis are reachable, else null (after the
 * helpers' loud warning; under CI=true they throw instead, so CI never skips the cluster tests).
 */
export async function clusterServices(what: string): Promise<string | null> {
  const adminUrl = await reachablePostgres(what);
  const redisUp = await redisReachable();
  return adminUrl !== null && redisUp ? adminUrl : null;
}

export interface ClusterBackends {
  /** The fresh database every node of the block shares; valid inside tests. */
  readonly databaseUrl: string;
  readonly redis: TestRedis;
  /** The Redis prefix every node of the block shares (a fresh one, deleted after the block). */
  readonly prefix: string;
}

/** Call inside a describe block: a fresh database and Redis prefix for its nodes, removed after. */
export function useClusterBackends(adminUrl: string): ClusterBackends {
  const database = useTestDatabase(adminUrl);
  const redis = useTestRedis();
  const prefix = redis.freshPrefix();
  // useTestRedis deletes the prefix's keys through a connection it opened; open one for it.
  beforeAll(async () => {
    await redis.connect();
  });
  return {
    get databaseUrl() {
      return database.url;
    },
    redis,
    prefix,
  };
}

/** The settings of a cluster node, as environment variables. */
function nodeEnv(
  backends: ClusterBackends,
  nodeId: string,
  extra: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {
    NATTER_STORE: 'postgres',
    DATABASE_URL: backends.databaseUrl,
    NATTER_CLUSTER: 'redis',
    REDIS_URL,
    NATTER_REDIS_PREFIX: backends.prefix,
    NATTER_NODE_ID: nodeId,
    NATTER_WEB_DIR: 'off',
    NATTER_PING_INTERVAL_MS: String(CLUSTER_TIMINGS.pingIntervalMs),
    NATTER_PRESENCE_TTL_MS: String(CLUSTER_TIMINGS.presenceTtlMs),
    NATTER_TYPING_TTL_MS: String(CLUSTER_TIMINGS.typingTtlMs),
    NATTER_TYPING_MIN_INTERVAL_MS: String(CLUSTER_TIMINGS.typingMinIntervalMs),
    NATTER_CLUSTER_HEARTBEAT_MS: String(CLUSTER_TIMINGS.clusterHeartbeatMs),
    NATTER_CLUSTER_TTL_MS: String(CLUSTER_TIMINGS.clusterTtlMs),
    NATTER_DRAIN_MAX_DELAY_MS: String(CLUSTER_TIMINGS.drainMaxDelayMs),
  };
  return { ...env, ...extra };
}

/**
 * Starts `count` node processes at once on the backends, pushing each into `nodes` as it comes up
 * (so a caller's cleanup finds the ones that started even if another failed); returns the data dir
 * they were given, which the caller removes. Rejects with the first failure.
 */
export async function startNodes(
  backends: ClusterBackends,
  count: number,
  extraEnv: Record<string, string>,
  nodes: ChildServer[],
): Promise<string> {
  // Unused with the postgres store, but spawnServer names one.
  const dataDir = await makeDataDir();
  const started = await Promise.allSettled(
    Array.from({ length: count }, (_, i) =>
      spawnServer(dataDir, nodeEnv(backends, `node-${i}`, extraEnv), 20_000),
    ),
  );
  for (const result of started) if (result.status === 'fulfilled') nodes.push(result.value);
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return dataDir;
}

export interface ChildCluster {
  /** The node processes, in start order; valid inside tests. */
  readonly nodes: ChildServer[];
}

/**
 * Call inside a describe block, after useClusterBackends: `count` node processes
 * (packages/server/dist/main.js) started at once on one fresh database (so that they race to
 * migrate it, as a fleet does), drained with SIGTERM after the block.
 */
export function useChildCluster(
  backends: ClusterBackends,
  count: number,
  extraEnv: Record<string, string> = {},
): ChildCluster {
  const nodes: ChildServer[] = [];
  let dataDir = '';
  beforeAll(async () => {
    dataDir = await startNodes(backends, count, extraEnv, nodes);
  }, 30_000);
  afterAll(async () => {
    const exits = await Promise.all(nodes.map((n) => n.kill('SIGTERM')));
    await rm(dataDir, { recursive: true, force: true });
    const unclean = exits.find((e) => e.code !== 0);
    if (unclean) throw new Error(`a node did not drain cleanly: ${JSON.stringify(unclean)}`);
  }, 20_000);
  return { nodes };
}

export interface SdkReader {
  client: NatterClient;
  /** What the SDK emitted for the conversation, in emit order. */
  events: ChatEvent[];
}

/** An SDK client (not connected yet) for `userId`, recording the events it emits for one conversation. */
export function sdkReader(wsUrl: string, userId: string, conversationId: string): SdkReader {
  const client = new NatterClient({
    url: wsUrl,
    token: () => signToken(userId),
    deviceId: 'sdk',
    webSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
  });
  const events: ChatEvent[] = [];
  client.on('event', (event) => {
    if (event.conversation_id === conversationId) events.push(event);
  });
  return { client, events };
}
