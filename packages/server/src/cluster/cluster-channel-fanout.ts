import type { ChatEvent } from '@natter/protocol';
import type { Logger } from 'pino';
import type { ChannelFanout } from '../chat/channel-fanout.js';
import type { Metrics } from '../metrics.js';
import type { ClusterBus } from './cluster-bus.js';
import { DropReporter } from './drop-reporter.js';

export interface ClusterChannelFanoutDeps {
  nodeId: string;
  /** This node's channel audience. */
  local: ChannelFanout;
  /** A bus of its own: its payloads are channel events, not the frame bus's users + frame. */
  bus: ClusterBus;
  /** The live nodes as last seen (refreshed on each node heartbeat). */
  liveNodes(): readonly string[];
  metrics: Pick<Metrics, 'busDropped'>;
  log: Logger;
}

/**
 * The ChannelFanout of a cluster node: a channel event goes to this node's online members, and as
 * ONE bus message to each other live node, whose own audience knows its online members. No node
 * reads a member list or the connection registry for it: per event the cost is one publish per
 * node, per recipient a lookup and a write on the node that holds them.
 *
 * Best effort: a node that joined since the last heartbeat, or a dropped message, loses the event
 * for that node's members until their change token (next heartbeat) sends them to sync.
 */
export class ClusterChannelFanout implements ChannelFanout {
  private readonly drops: DropReporter;

  constructor(private readonly deps: ClusterChannelFanoutDeps) {
    this.drops = new DropReporter(deps.metrics.busDropped, deps.log, 'channel event');
  }

  async start(): Promise<void> {
    await this.deps.bus.subscribe(this.deps.nodeId, (payload) => this.received(payload));
  }

  toChannel(event: ChatEvent, exceptConnectionId?: string): void {
    this.deps.local.toChannel(event, exceptConnectionId);
    let payload: string | undefined;
    for (const node of this.deps.liveNodes()) {
      if (node === this.deps.nodeId) continue;
      payload ??= JSON.stringify(event);
      this.deps.bus.publish(node, payload);
    }
  }

  private received(payload: string): void {
    const event = parseEvent(payload);
    if (event) this.deps.local.toChannel(event);
    else this.drops.drop('malformed');
  }
}

function parseEvent(payload: string): ChatEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const event = value as Partial<ChatEvent>;
  if (typeof event.conversation_id !== 'string' || typeof event.seq !== 'number') return undefined;
  return event as ChatEvent;
}
