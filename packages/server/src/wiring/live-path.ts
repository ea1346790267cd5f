import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Broadcaster } from '../chat/broadcaster.js';
import type { ChannelAudience } from '../chat/channel-audience.js';
import type { ChannelFanout } from '../chat/channel-fanout.js';
import type { Clock } from '../clock.js';
import { ClusterBroadcaster } from '../cluster/cluster-broadcaster.js';
import type { ClusterBus } from '../cluster/cluster-bus.js';
import { ClusterChannelFanout } from '../cluster/cluster-channel-fanout.js';
import type { ConnectionRegistry } from '../cluster/connection-registry.js';
import { RedisClusterBus } from '../cluster/redis-cluster-bus.js';
import { closeRedis, isRedisUp, openRedis } from '../cluster/redis-connection.js';
import { RedisConnectionRegistry } from '../cluster/redis-connection-registry.js';
import { RedisNodeLiveness } from '../cluster/redis-node-liveness.js';
import { RedisPresenceStore } from '../cluster/redis-presence-store.js';
import type { Config } from '../config.js';
import type { ConnectionHub } from '../gateway/connection-hub.js';
import type { Metrics } from '../metrics.js';
import { MemoryPresenceStore } from '../presence/memory-presence-store.js';
import type { PresenceStore } from '../presence/presence-store.js';

/**
 * The live path of one node: how frames reach connections, and who is online. Ephemeral by design:
 * losing any of it costs clients a sync (the heartbeat's change token), never a message.
 */
export interface LivePath {
  nodeId: string;
  /** For the Publisher and the TypingService: this node's hub, plus the bus in a cluster. */
  broadcaster: Broadcaster;
  /** For the Publisher's channel events: this node's audience, plus one publish per node in a cluster. */
  channelFanout: ChannelFanout;
  presenceStore: PresenceStore;
  /** Told when a user's first connection on this node opens and their last one closes; none alone. */
  registry?: ConnectionRegistry;
  /**
   * The same for sessions (the token a connection authenticated with): which nodes hold a
   * connection of each. Push notifications skip a device whose session is live on any node.
   */
  sessions?: ConnectionRegistry;
  /**
   * A logout: closes the session's sockets on this node and asks every other live node to close
   * theirs (best effort: a socket that misses it stays open until it reconnects, when the revoked
   * token is refused).
   */
  revokeSession(sessionKey: string): void;
  /** Where revocations land on this node, whichever node the logout came from (the gateway's). */
  onSessionRevoked(listener: (sessionKey: string) => void): void;
  /** False while a shared backend (Redis) cannot be reached. */
  healthy(): boolean;
  /** After the gateway has drained: leaves the cluster and closes the connections to its backends. */
  close(): Promise<void>;
}

/** Replaceable parts, for embedding and for tests that inject faults (a bus that drops). */
export interface LivePathSeams {
  wrapBus?: (bus: ClusterBus) => ClusterBus;
  /** The same for the bus that carries channel events to every node. */
  wrapChannelBus?: (bus: ClusterBus) => ClusterBus;
}

export async function openLivePath(
  config: Config,
  hub: ConnectionHub,
  audience: ChannelAudience,
  metrics: Metrics,
  log: Logger,
  clock: Clock,
  seams: LivePathSeams = {},
): Promise<LivePath> {
  const nodeId = config.nodeId ?? `node-${randomBytes(6).toString('hex')}`;
  if (config.cluster === 'none') {
    const presenceStore = new MemoryPresenceStore(config.presenceTtlMs, clock);
    const revocations = new Listeners<string>();
    return {
      nodeId,
      broadcaster: hub,
      channelFanout: audience,
      presenceStore,
      revokeSession: (sessionKey) => revocations.emit(sessionKey),
      onSessionRevoked: (listener) => revocations.add(listener),
      healthy: () => true,
      close: () => presenceStore.close(),
    };
  }
  // resolveConfig refuses redis without a URL; this narrows the type.
  if (config.redisUrl === undefined) throw new Error('NATTER_CLUSTER=redis needs REDIS_URL.');
  return openRedisLivePath(
    config,
    config.redisUrl,
    nodeId,
    hub,
    audience,
    metrics,
    log.child({ nodeId }),
    seams,
  );
}

async function openRedisLivePath(
  config: Config,
  redisUrl: string,
  nodeId: string,
  hub: ConnectionHub,
  audience: ChannelAudience,
  metrics: Metrics,
  log: Logger,
  seams: LivePathSeams,
): Promise<LivePath> {
  const { redisPrefix: prefix, clusterTtlMs: ttlMs } = config;
  const client = openRedis(redisUrl, log);
  // Like a PostgreSQL that is not up yet, a Redis that is not up yet makes the node wait for it
  // (ioredis keeps reconnecting, and says so once in the log) rather than start half-wired.
  await untilReady(client);
  const registry = new RedisConnectionRegistry(client, { prefix, nodeId, ttlMs }, metrics, log);
  const sessions = new RedisConnectionRegistry(
    client,
    { prefix: `${prefix}sessions:`, nodeId, ttlMs },
    metrics,
    log,
  );
  const liveness = new RedisNodeLiveness(client, { prefix, ttlMs });
  const redisBus = new RedisClusterBus(client, { prefix }, metrics, log);
  const bus = seams.wrapBus?.(redisBus) ?? redisBus;
  const presenceStore = await RedisPresenceStore.open(
    client,
    { prefix, nodeId, ttlMs: config.presenceTtlMs },
    metrics,
    log,
  );
  const broadcaster = new ClusterBroadcaster({ nodeId, local: hub, registry, bus, metrics, log });
  await broadcaster.start();
  // Revocations go to every live node, not to the nodes of a user: a bus of their own keeps the
  // frame bus's payloads (users + frame) what they are.
  const revocations = new Listeners<string>();
  const revocationBus = new RedisClusterBus(client, { prefix: `${prefix}revoked:` }, metrics, log);
  await revocationBus.subscribe(nodeId, (sessionKey) => revocations.emit(sessionKey));
  // Channel events go to every live node once (each routes to its own online members): the list
  // of live nodes is refreshed on each heartbeat.
  let liveNodes: readonly string[] = [];
  const channelBus = new RedisClusterBus(client, { prefix: `${prefix}channel:` }, metrics, log);
  const channelFanout = new ClusterChannelFanout({
    nodeId,
    local: audience,
    bus: seams.wrapChannelBus?.(channelBus) ?? channelBus,
    liveNodes: () => liveNodes,
    metrics,
    log,
  });
  await channelFanout.start();

  let beatFailing = false;
  const beat = async (): Promise<void> => {
    // The registry never rejects (it counts its own drops); liveness does, and is retried next beat.
    await Promise.all([registry.refresh(), sessions.refresh()]);
    try {
      await liveness.beat(nodeId);
      liveNodes = await liveness.liveNodes();
      if (beatFailing) log.info('node heartbeat written again');
      beatFailing = false;
    } catch (error) {
      if (!beatFailing) log.warn({ err: error }, 'node heartbeat failed; retrying every beat');
      beatFailing = true;
    }
  };
  await beat();
  const heartbeat = setInterval(() => void beat(), config.clusterHeartbeatMs);
  heartbeat.unref();
  log.info({ liveNodes: await liveness.liveNodes().catch(() => []) }, 'joined the cluster');

  return {
    nodeId,
    broadcaster,
    channelFanout,
    presenceStore,
    registry,
    sessions,
    revokeSession(sessionKey) {
      revocations.emit(sessionKey);
      liveness.liveNodes().then(
        (nodes) => {
          for (const other of nodes) if (other !== nodeId) revocationBus.publish(other, sessionKey);
        },
        (error: unknown) => log.warn({ err: error }, 'could not tell the other nodes of a logout'),
      );
    },
    onSessionRevoked: (listener) => revocations.add(listener),
    healthy: () => isRedisUp(client),
    async close() {
      clearInterval(heartbeat);
      await liveness.leave(nodeId).catch((error: unknown) => log.warn({ err: error }, 'could not leave'));
      await registry.close();
      await sessions.close();
      await bus.close();
      await revocationBus.close();
      await channelBus.close();
      await presenceStore.close();
      await closeRedis(client);
    },
  };
}

function untilReady(client: Redis): Promise<void> {
  if (isRedisUp(client)) return Promise.resolve();
  return new Promise((resolve) => client.once('ready', () => resolve()));
}

/** A list of listeners told of each value. */
class Listeners<T> {
  private readonly listeners: Array<(value: T) => void> = [];

  add(listener: (value: T) => void): void {
    this.listeners.push(listener);
  }

  emit(value: T): void {
    for (const listener of this.listeners) listener(value);
  }
}
