import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Broadcaster } from '../../src/chat/broadcaster.js';
import { ClusterBroadcaster } from '../../src/cluster/cluster-broadcaster.js';
import type { ClusterBus } from '../../src/cluster/cluster-bus.js';
import type { ConnectionRegistry } from '../../src/cluster/connection-registry.js';
import { BusSpace, MemoryClusterBus } from '../../src/cluster/memory-cluster-bus.js';
import { MemoryConnectionRegistry, RegistrySpace } from '../../src/cluster/memory-connection-registry.js';
import { RedisClusterBus } from '../../src/cluster/redis-cluster-bus.js';
import { RedisConnectionRegistry } from '../../src/cluster/redis-connection-registry.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics.js';
import { droppedBy, LossyBus } from '../helpers/bus.js';
import { redisReachable, useTestRedis } from '../helpers/redis.js';

/**
 * The Broadcaster contract for a cluster node (the embedded ConnectionHub's, across nodes): every
 * connection of every target user gets the frame, on whichever node it is, with one bus message
 * per other node, and what the bus loses is lost only for that node's users.
 */

const TTL_MS = 10_000;
const log = createLogger('silent');

/** A node's connections, as the ConnectionHub keeps them: user -> connection ids. */
class FakeHub implements Broadcaster {
  readonly connections = new Map<string, string[]>();
  readonly delivered: Array<{ connectionId: string; frame: string }> = [];

  toUsers(userIds: Iterable<string>, frame: string, exceptConnectionId?: string): void {
    for (const userId of userIds) {
      for (const connectionId of this.connections.get(userId) ?? []) {
        if (connectionId !== exceptConnectionId) this.delivered.push({ connectionId, frame });
      }
    }
  }

  framesOf(connectionId: string): string[] {
    return this.delivered.filter((d) => d.connectionId === connectionId).map((d) => d.frame);
  }
}

interface Backend {
  registry(nodeId: string): Promise<ConnectionRegistry>;
  bus(metrics: Metrics): Promise<ClusterBus>;
}

interface Node {
  nodeId: string;
  hub: FakeHub;
  bus: LossyBus;
  registry: ConnectionRegistry;
  metrics: Metrics;
  broadcaster: ClusterBroadcaster;
  /** Connects `userId` here (the registry learns it, as the gateway will tell it). */
  connect(userId: string, connectionId: string): Promise<void>;
}

function describeClusterBroadcaster(name: string, openBackend: () => Promise<Backend>): void {
  describe(`ClusterBroadcaster: ${name}`, () => {
    let nodes: Node[] = [];

    afterEach(async () => {
      await Promise.all(nodes.map((n) => Promise.all([n.bus.close(), n.registry.close()])));
      nodes = [];
    });

    const openNodes = async (count: number): Promise<Node[]> => {
      const backend = await openBackend();
      for (let i = 0; i < count; i += 1) {
        const nodeId = `node-${i}`;
        const metrics = new Metrics();
        const hub = new FakeHub();
        const registry = await backend.registry(nodeId);
        const bus = new LossyBus(await backend.bus(metrics));
        const broadcaster = new ClusterBroadcaster({ nodeId, local: hub, registry, bus, metrics, log });
        await broadcaster.start();
        nodes.push({
          nodeId,
          hub,
          bus,
          registry,
          metrics,
          broadcaster,
          async connect(userId, connectionId) {
            hub.connections.set(userId, [...(hub.connections.get(userId) ?? []), connectionId]);
            await registry.add(userId);
          },
        });
      }
      return nodes;
    };

    const frameNo = (n: number) => JSON.stringify({ type: 'event', n, id: randomUUID() });

    it('reaches every connection of every user on every node, one bus message per other node', async () => {
      const [sender, second, third, idle] = await openNodes(4);
      await sender!.connect('alice', 'alice-phone');
      await sender!.connect('alice', 'alice-laptop');
      await second!.connect('bob', 'bob-phone');
      await second!.connect('carol', 'carol-phone');
      await third!.connect('carol', 'carol-laptop');
      await third!.connect('dave', 'dave-phone');
      await idle!.connect('erin', 'erin-phone');

      const frame = frameNo(1);
      sender!.broadcaster.toUsers(['alice', 'bob', 'carol', 'dave', 'nobody'], frame, 'alice-phone');

      await expect.poll(() => third!.hub.delivered.length).toBe(2);
      await expect.poll(() => second!.hub.delivered.length).toBe(2);
      expect(sender!.hub.framesOf('alice-laptop')).toEqual([frame]);
      expect(sender!.hub.framesOf('alice-phone')).toEqual([]);
      for (const connection of ['bob-phone', 'carol-phone']) {
        expect(second!.hub.framesOf(connection)).toEqual([frame]);
      }
      for (const connection of ['carol-laptop', 'dave-phone']) {
        expect(third!.hub.framesOf(connection)).toEqual([frame]);
      }
      expect(idle!.hub.delivered).toEqual([]);
      // One message per other node holding targets, naming only that node's users.
      const recipients = sender!.bus.published.map((p) => [p.nodeId, p.payload.split('\n')[0]]).sort();
      expect(recipients).toEqual([
        ['node-1', '["bob","carol"]'],
        ['node-2', '["carol","dave"]'],
      ]);
    });

    it('loses what the bus drops only for that node, and keeps delivering after', async () => {
      const [sender, lossy, healthy] = await openNodes(3);
      await lossy!.connect('bob', 'bob-phone');
      await healthy!.connect('carol', 'carol-phone');
      sender!.bus.shouldDrop = (nodeId) => nodeId === lossy!.nodeId;

      const lost = frameNo(1);
      sender!.broadcaster.toUsers(['bob', 'carol'], lost);
      await expect.poll(() => healthy!.hub.framesOf('carol-phone')).toEqual([lost]);
      expect(sender!.bus.dropped).toBe(1);

      sender!.bus.shouldDrop = () => false;
      const next = frameNo(2);
      sender!.broadcaster.toUsers(['bob', 'carol'], next);
      await expect.poll(() => lossy!.hub.framesOf('bob-phone')).toEqual([next]);
      await expect.poll(() => healthy!.hub.framesOf('carol-phone')).toEqual([lost, next]);
    });

    it('keeps the order of the frames it is given', async () => {
      const [sender, receiver] = await openNodes(2);
      await receiver!.connect('bob', 'bob-phone');
      const frames = Array.from({ length: 300 }, (_, i) => frameNo(i));
      for (const frame of frames) sender!.broadcaster.toUsers(['bob'], frame);
      await expect.poll(() => receiver!.hub.framesOf('bob-phone').length).toBe(300);
      expect(receiver!.hub.framesOf('bob-phone')).toEqual(frames);
    });

    it('stops sending to a node once its user is removed from the registry', async () => {
      const [sender, receiver] = await openNodes(2);
      await receiver!.connect('bob', 'bob-phone');
      await receiver!.registry.remove('bob');
      sender!.broadcaster.toUsers(['bob'], frameNo(1));
      await sender!.registry.nodesOf(['bob']);
      expect(sender!.bus.published).toEqual([]);
    });

    it('counts a payload that is not a delivery and delivers nothing for it', async () => {
      const [sender, receiver] = await openNodes(2);
      await receiver!.connect('bob', 'bob-phone');
      for (const payload of ['no newline', '{"not":"an array"}\nframe', '[1,2]\nframe', '[broken\nframe']) {
        sender!.bus.publish(receiver!.nodeId, payload);
      }
      await expect.poll(() => droppedBy(receiver!.metrics, 'malformed')).toBe(4);
      expect(receiver!.hub.delivered).toEqual([]);
    });
  });
}

/** A registry whose backend is gone: every lookup fails. */
class UnreachableRegistry implements ConnectionRegistry {
  async add(): Promise<void> {}
  async remove(): Promise<void> {}
  async refresh(): Promise<void> {}
  async nodesOf(): Promise<Map<string, string[]>> {
    throw new Error('registry unreachable');
  }
  async close(): Promise<void> {}
}

describe('ClusterBroadcaster with its registry unreachable', () => {
  it('still delivers locally, and counts the frame lost for the other nodes', async () => {
    const metrics = new Metrics();
    const hub = new FakeHub();
    hub.connections.set('alice', ['alice-laptop']);
    const bus = new LossyBus(new MemoryClusterBus(new BusSpace(), metrics, log));
    const broadcaster = new ClusterBroadcaster({
      nodeId: 'node-0',
      local: hub,
      registry: new UnreachableRegistry(),
      bus,
      metrics,
      log,
    });
    broadcaster.toUsers(['alice', 'bob'], 'frame');
    expect(hub.framesOf('alice-laptop')).toEqual(['frame']);
    await expect.poll(() => droppedBy(metrics, 'lookup_failed')).toBe(1);
    expect(bus.published).toEqual([]);
  });
});

describeClusterBroadcaster('in-process', async () => {
  const registries = new RegistrySpace(TTL_MS);
  const buses = new BusSpace();
  return {
    registry: async (nodeId) => new MemoryConnectionRegistry(nodeId, registries),
    bus: async (metrics) => new MemoryClusterBus(buses, metrics, log),
  };
});

describe.runIf(await redisReachable())('Redis', () => {
  const redis = useTestRedis();
  describeClusterBroadcaster('Redis', async () => {
    const prefix = redis.freshPrefix();
    const client = await redis.connect();
    return {
      registry: async (nodeId) =>
        new RedisConnectionRegistry(client, { prefix, nodeId, ttlMs: TTL_MS }, new Metrics(), log),
      bus: async (metrics) => new RedisClusterBus(await redis.connect(), { prefix }, metrics, log),
    };
  });
});
