import type { Logger } from 'pino';
import type { Broadcaster } from '../chat/broadcaster.js';
import type { Metrics } from '../metrics.js';
import type { ClusterBus } from './cluster-bus.js';
import type { ConnectionRegistry } from './connection-registry.js';
import { DropReporter } from './drop-reporter.js';
import { DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_IN_FLIGHT_BYTES, InFlightCap } from './in-flight-cap.js';

export interface ClusterBroadcasterDeps {
  nodeId: string;
  /** This node's connections (the ConnectionHub). */
  local: Broadcaster;
  registry: ConnectionRegistry;
  bus: ClusterBus;
  metrics: Pick<Metrics, 'busDropped'>;
  log: Logger;
}

/**
 * The Broadcaster of a cluster node: a frame goes at once to this node's connections, and as ONE
 * bus message to each other node that the registry says holds some of the users, carrying the frame
 * and those users; that node hands it to its own connections. Per recipient the cost stays a lookup
 * and a write; per event it is one registry lookup and one publish per node.
 *
 * Best effort, like every Broadcaster: a failed lookup or a dropped message loses the frame for
 * that node's users, counted in `natter_bus_dropped_total`, and the heartbeat's change token heals
 * it. Frames leave in call order (the lookups of one node are answered in order), so a live event
 * normally arrives after the ones before it; a client that sees a seq skip fetches the gap anyway.
 */
export class ClusterBroadcaster implements Broadcaster {
  private readonly drops: DropReporter;
  /** Lookups under way each hold their frame: a stuck registry must not pile them up. */
  private readonly lookups = new InFlightCap(DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_IN_FLIGHT_BYTES);

  constructor(private readonly deps: ClusterBroadcasterDeps) {
    this.drops = new DropReporter(deps.metrics.busDropped, deps.log, 'cluster frame');
  }

  /** Resolves once frames for this node's users, sent by other nodes, are being delivered. */
  async start(): Promise<void> {
    await this.deps.bus.subscribe(this.deps.nodeId, (payload) => this.received(payload));
  }

  toUsers(userIds: Iterable<string>, frame: string, exceptConnectionId?: string): void {
    const users = [...userIds];
    if (users.length === 0) return;
    // The excepted connection is the sender's, which is always on this node.
    this.deps.local.toUsers(users, frame, exceptConnectionId);
    const lookup = this.lookups.tryCall(() => this.deps.registry.nodesOf(users), frame.length);
    if (!lookup) {
      this.drops.drop('backlog');
      return;
    }
    lookup.then(
      (nodesByUser) => this.forward(nodesByUser, frame),
      (error: unknown) => this.drops.drop('lookup_failed', error),
    );
  }

  private forward(nodesByUser: Map<string, string[]>, frame: string): void {
    const usersByNode = new Map<string, string[]>();
    for (const [userId, nodes] of nodesByUser) {
      for (const node of nodes) {
        if (node === this.deps.nodeId) continue;
        const users = usersByNode.get(node);
        if (users) users.push(userId);
        else usersByNode.set(node, [userId]);
      }
    }
    for (const [node, users] of usersByNode) this.deps.bus.publish(node, encodeDelivery(users, frame));
  }

  private received(payload: string): void {
    const delivery = decodeDelivery(payload);
    if (delivery) this.deps.local.toUsers(delivery.userIds, delivery.frame);
    else this.drops.drop('malformed');
  }
}

/**
 * A delivery on the bus: the recipients as a JSON array, a newline, then the frame verbatim. JSON
 * escapes every newline inside the array, so the first newline ends it, and the frame (often large)
 * is neither parsed nor escaped again on its way through.
 */
function encodeDelivery(userIds: readonly string[], frame: string): string {
  return `${JSON.stringify(userIds)}\n${frame}`;
}

function decodeDelivery(payload: string): { userIds: string[]; frame: string } | undefined {
  const end = payload.indexOf('\n');
  if (end < 0) return undefined;
  let header: unknown;
  try {
    header = JSON.parse(payload.slice(0, end));
  } catch {
    return undefined;
  }
  if (!Array.isArray(header) || !header.every((u): u is string => typeof u === 'string')) return undefined;
  return { userIds: header, frame: payload.slice(end + 1) };
}
