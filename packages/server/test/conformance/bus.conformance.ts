import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterBus } from '../../src/cluster/cluster-bus.js';
import type { Metrics } from '../../src/metrics.js';
import { droppedBy } from '../helpers/bus.js';

/** The ClusterBus port contract, run against every adapter. Each node has a bus of its own. */
export interface BusHandle {
  /** A bus for one node on this handle's backend (fresh per test), counting into `metrics`. */
  openNode(): Promise<{ bus: ClusterBus; metrics: Metrics }>;
  close(): Promise<void>;
}

const WITHIN_MS = 2_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const until = Date.now() + WITHIN_MS;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out after ${WITHIN_MS} ms waiting for ${what}`);
    await sleep(2);
  }
}

export function describeBusConformance(name: string, open: () => Promise<BusHandle>): void {
  describe(`ClusterBus conformance: ${name}`, () => {
    let handle: BusHandle;
    let buses: ClusterBus[];

    /** A node subscribed to its topic, with what it received. */
    const openSubscribed = async (nodeId: string) => {
      const node = await handle.openNode();
      buses.push(node.bus);
      const received: string[] = [];
      await node.bus.subscribe(nodeId, (payload) => received.push(payload));
      return { ...node, received };
    };

    /** A node that only publishes. */
    const openPublisher = async () => {
      const node = await handle.openNode();
      buses.push(node.bus);
      return node;
    };

    beforeEach(async () => {
      handle = await open();
      buses = [];
    });

    afterEach(async () => {
      await Promise.all(buses.map((b) => b.close()));
      await handle.close();
    });

    it('delivers a payload verbatim to the named node only', async () => {
      const a = await openSubscribed('node-a');
      const b = await openSubscribed('node-b');
      const publisher = await openPublisher();
      const payloads = ['plain', 'line one\nline two\r\n', 'ünïcødé 💬 \u0000 end', 'x'.repeat(200_000), ''];
      for (const payload of payloads) publisher.bus.publish('node-a', payload);
      publisher.bus.publish('node-b', 'for b');
      await waitFor(() => a.received.length === payloads.length && b.received.length === 1, 'deliveries');
      expect(a.received).toEqual(payloads);
      expect(b.received).toEqual(['for b']);
      await expect.poll(async () => (await publisher.metrics.busPublished.get()).values[0]?.value).toBe(6);
      expect((await a.metrics.busReceived.get()).values[0]?.value).toBe(5);
    });

    it('keeps the order of one publisher, and delivers each payload once', async () => {
      const target = await openSubscribed('node-target');
      const [p, q] = [await openPublisher(), await openPublisher()];
      for (let i = 0; i < 2_000; i += 1) {
        p.bus.publish('node-target', `p${i}`);
        q.bus.publish('node-target', `q${i}`);
      }
      await waitFor(() => target.received.length === 4_000, '4000 deliveries');
      for (const prefix of ['p', 'q']) {
        const fromOne = target.received.filter((m) => m.startsWith(prefix));
        expect(fromOne).toEqual(Array.from({ length: 2_000 }, (_, i) => `${prefix}${i}`));
      }
      await sleep(20);
      expect(target.received).toHaveLength(4_000);
    });

    it('lets a node publish to itself, never inside publish', async () => {
      const self = await openSubscribed('node-self');
      self.bus.publish('node-self', 'hello me');
      expect(self.received).toEqual([]);
      await waitFor(() => self.received.length === 1, 'own delivery');
      expect(self.received).toEqual(['hello me']);
    });

    it('drops, counts and forgets a payload for a node nobody listens to', async () => {
      const publisher = await openPublisher();
      expect(publisher.bus.publish('node-nobody', 'lost')).toBeUndefined();
      await expect.poll(() => droppedBy(publisher.metrics, 'no_subscriber')).toBe(1);

      // Nothing was kept for it: a node subscribing afterwards gets only what follows.
      const late = await openSubscribed('node-nobody');
      publisher.bus.publish('node-nobody', 'after');
      await waitFor(() => late.received.length === 1, 'delivery after subscribing');
      expect(late.received).toEqual(['after']);
    });

    it('stops delivering to a closed node', async () => {
      const gone = await openSubscribed('node-gone');
      const publisher = await openPublisher();
      await gone.bus.close();
      publisher.bus.publish('node-gone', 'too late');
      await expect.poll(() => droppedBy(publisher.metrics, 'no_subscriber')).toBe(1);
      expect(gone.received).toEqual([]);
    });

    it('counts a handler that throws and keeps delivering', async () => {
      const node = await handle.openNode();
      buses.push(node.bus);
      const received: string[] = [];
      await node.bus.subscribe('node-fragile', (payload) => {
        if (payload === 'bad') throw new Error('handler failed');
        received.push(payload);
      });
      const publisher = await openPublisher();
      for (const payload of ['one', 'bad', 'two']) publisher.bus.publish('node-fragile', payload);
      await waitFor(() => received.length === 2, 'deliveries around the failure');
      expect(received).toEqual(['one', 'two']);
      expect(await droppedBy(node.metrics, 'handler_failed')).toBe(1);
    });

    it('subscribes a bus once', async () => {
      const node = await openSubscribed('node-once');
      await expect(node.bus.subscribe('node-twice', () => {})).rejects.toThrow(/already subscribed/);
    });
  });
}
