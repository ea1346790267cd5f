import type { ChatEvent } from '@natter/protocol';

/**
 * Where the domain hands a committed channel event for live delivery. A channel fans out on read:
 * the event goes only to the members who are online (on every node, each routing to its own), never
 * through a member list. Best effort like every live path: the change token heals a lost one.
 */
export interface ChannelFanout {
  /** Delivers to the online members who may see it, all but the connection that sent it. */
  toChannel(event: ChatEvent, exceptConnectionId?: string): void;
}
