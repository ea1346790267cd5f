import type { Metrics } from '../metrics.js';
import type { DropReporter } from './drop-reporter.js';

/**
 * Node-to-node messages: one topic per node. Contract:
 * - `publish` is best effort and at most once: a payload may be lost (no subscriber, the backend
 *   unreachable, too many publishes in flight) and is then counted in `natter_bus_dropped_total`
 *   and logged, never retried. It returns at once, never throws and never queues without bound,
 *   so a dead backend costs the caller nothing. Losing a message costs a client one sync: the
 *   heartbeat's change token tells it it is behind.
 * - Payloads arrive verbatim, each once, in publish order between one publisher and one topic.
 * - `subscribe` (once per bus) resolves when this node's topic is live: payloads published after
 *   that reach `handler`, and a handler that throws is counted and does not stop later ones.
 * - Nothing is stored: a payload published while its node is away is gone.
 */
export interface ClusterBus {
  publish(nodeId: string, payload: string): void;
  subscribe(ownNodeId: string, handler: (payload: string) => void): Promise<void>;
  close(): Promise<void>;
}

/** The counters every bus adapter keeps. */
export type BusMetrics = Pick<Metrics, 'busPublished' | 'busReceived' | 'busDropped'>;

/** Hands one received payload to the subscriber: a handler that throws is counted, and that is all. */
export function deliverPayload(
  handler: (payload: string) => void,
  payload: string,
  metrics: BusMetrics,
  drops: DropReporter,
): void {
  metrics.busReceived.inc();
  try {
    handler(payload);
  } catch (error) {
    drops.drop('handler_failed', error);
  }
}
