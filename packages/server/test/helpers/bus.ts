import type { ClusterBus } from '../../src/cluster/cluster-bus.js';
import type { Metrics } from '../../src/metrics.js';

/** How many drops a bus counted for `reason`. */
export async function droppedBy(metrics: Metrics, reason: string): Promise<number> {
  const { values } = await metrics.busDropped.get();
  return values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

/**
 * A fault-injecting ClusterBus: forwards to the real bus except the publishes `shouldDrop` picks,
 * which vanish as a lossy network would lose them. It also records what was published, so a test
 * can count messages per node.
 */
export class LossyBus implements ClusterBus {
  readonly published: Array<{ nodeId: string; payload: string }> = [];
  dropped = 0;
  shouldDrop: (nodeId: string, payload: string) => boolean = () => false;

  constructor(private readonly inner: ClusterBus) {}

  publish(nodeId: string, payload: string): void {
    this.published.push({ nodeId, payload });
    if (this.shouldDrop(nodeId, payload)) this.dropped += 1;
    else this.inner.publish(nodeId, payload);
  }

  subscribe(ownNodeId: string, handler: (payload: string) => void): Promise<void> {
    return this.inner.subscribe(ownNodeId, handler);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
