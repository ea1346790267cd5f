import type { Logger } from 'pino';
import { type BusMetrics, type ClusterBus, deliverPayload } from './cluster-bus.js';
import { DropReporter } from './drop-reporter.js';

/** What every in-process node shares: the topics, node id -> how its subscriber takes a payload. */
export class BusSpace {
  readonly topics = new Map<string, (payload: string) => void>();
}

/**
 * The in-process ClusterBus, for nodes living in one process. Delivery is on a microtask, so a
 * handler never runs inside `publish` (as with a real bus) and order is kept.
 */
export class MemoryClusterBus implements ClusterBus {
  private readonly drops: DropReporter;
  private ownNodeId: string | undefined;

  constructor(
    private readonly space: BusSpace,
    private readonly metrics: BusMetrics,
    log: Logger,
  ) {
    this.drops = new DropReporter(metrics.busDropped, log, 'bus message');
  }

  publish(nodeId: string, payload: string): void {
    const handler = this.space.topics.get(nodeId);
    if (!handler) {
      this.drops.drop('no_subscriber');
      return;
    }
    this.metrics.busPublished.inc();
    queueMicrotask(() => handler(payload));
  }

  async subscribe(ownNodeId: string, handler: (payload: string) => void): Promise<void> {
    if (this.ownNodeId !== undefined) throw new Error('This bus is already subscribed.');
    if (this.space.topics.has(ownNodeId)) throw new Error(`Node ${ownNodeId} is already subscribed.`);
    this.ownNodeId = ownNodeId;
    this.space.topics.set(ownNodeId, (payload) => deliverPayload(handler, payload, this.metrics, this.drops));
  }

  async close(): Promise<void> {
    if (this.ownNodeId !== undefined) this.space.topics.delete(this.ownNodeId);
  }
}
