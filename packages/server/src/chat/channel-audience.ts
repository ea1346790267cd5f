import type { ChatEvent } from '@natter/protocol';
import type { Logger } from 'pino';
import type { ChannelMembership } from '../store/log-store.js';
import type { Broadcaster } from './broadcaster.js';
import type { ChannelFanout } from './channel-fanout.js';
import { sendAsSeen, type Viewer } from './event-delivery.js';

export interface ChannelAudienceDeps {
  /** The channels a user is a current member of (LogStore.channelsOf). */
  channelsOf(userId: string): Promise<ChannelMembership[]>;
  /** This node's connections. */
  local: Broadcaster;
  /** Whether the user has a connection on this node now (or is being loaded: see userOnline). */
  isOnline(userId: string): boolean;
  log: Logger;
}

/**
 * Per node: which of the users connected here are members of which channel, and since which seq.
 * It is learned when a user's first connection here opens (their channel memberships: a few rows),
 * kept up to date from the channel's own membership events as they are delivered, and dropped when
 * their last connection here closes. So a channel post costs this node a lookup and a write per
 * online member here, whatever the channel's size.
 *
 * Ephemeral, like the rest of the live path: a post that races a user's load misses them, and
 * their change token heals it on the next heartbeat.
 */
export class ChannelAudience implements ChannelFanout {
  /** channel -> online member -> the seq their view starts at. */
  private readonly watchers = new Map<string, Map<string, number>>();
  private readonly channelsByUser = new Map<string, Set<string>>();
  /** Users whose memberships are being loaded -> the channels whose membership of theirs changed meanwhile. */
  private readonly loading = new Map<string, Set<string>>();

  constructor(private readonly deps: ChannelAudienceDeps) {}

  /**
   * The user's first connection on this node is opening: learns their channels, and from then on
   * counts them as online here until `userOffline` (which the caller owes if the connection does
   * not open after all). Never rejects.
   */
  async userOnline(userId: string): Promise<void> {
    const changed = new Set<string>();
    this.loading.set(userId, changed);
    try {
      const memberships = await this.deps.channelsOf(userId);
      // A join or removal delivered while loading is newer than (or as new as) the snapshot.
      for (const m of memberships)
        if (!changed.has(m.conversationId)) this.watch(m.conversationId, userId, m.joinedSeq);
    } catch (error) {
      this.deps.log.warn({ err: error, userId }, 'could not load channel memberships');
    } finally {
      if (this.loading.get(userId) === changed) this.loading.delete(userId);
    }
  }

  /** The user's last connection on this node closed. */
  userOffline(userId: string): void {
    this.loading.delete(userId);
    for (const channelId of this.channelsByUser.get(userId) ?? []) this.unwatch(channelId, userId);
    this.channelsByUser.delete(userId);
  }

  /** Whether the user, online here, is a member of the channel. */
  isWatching(channelId: string, userId: string): boolean {
    return this.watchers.get(channelId)?.has(userId) ?? false;
  }

  /**
   * Delivers the event to the online members here who may see it. A member added by it (or by the
   * channel's creation) sees it, their view starting there; a member removed by it sees it last.
   */
  toChannel(event: ChatEvent, exceptConnectionId?: string): void {
    const channelId = event.conversation_id;
    const subject = event.data?.user_id;
    if (event.kind === 'member_added' && subject !== undefined) this.joined(channelId, subject, event.seq);
    if (event.kind === 'created')
      for (const userId of event.data?.member_ids ?? []) this.joined(channelId, userId, event.seq);
    const viewers = this.watchers.get(channelId);
    if (viewers && viewers.size > 0) {
      sendAsSeen(event, viewersOf(viewers), (userIds, frame) =>
        this.deps.local.toUsers(userIds, frame, exceptConnectionId),
      );
    }
    if ((event.kind === 'member_removed' || event.kind === 'member_left') && subject !== undefined) {
      this.loading.get(subject)?.add(channelId);
      this.unwatch(channelId, subject);
      this.channelsByUser.get(subject)?.delete(channelId);
    }
  }

  private joined(channelId: string, userId: string, seq: number): void {
    const loading = this.loading.get(userId);
    loading?.add(channelId);
    if (loading || this.deps.isOnline(userId)) this.watch(channelId, userId, seq);
  }

  private watch(channelId: string, userId: string, joinedSeq: number): void {
    let viewers = this.watchers.get(channelId);
    if (!viewers) {
      viewers = new Map();
      this.watchers.set(channelId, viewers);
    }
    viewers.set(userId, joinedSeq);
    let channels = this.channelsByUser.get(userId);
    if (!channels) {
      channels = new Set();
      this.channelsByUser.set(userId, channels);
    }
    channels.add(channelId);
  }

  private unwatch(channelId: string, userId: string): void {
    const viewers = this.watchers.get(channelId);
    if (!viewers?.delete(userId)) return;
    if (viewers.size === 0) this.watchers.delete(channelId);
  }
}

function* viewersOf(viewers: Map<string, number>): Generator<Viewer> {
  for (const [userId, joinedSeq] of viewers) yield { userId, joinedSeq };
}
