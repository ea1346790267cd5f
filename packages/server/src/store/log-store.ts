import type { ChatEvent, ConversationSummary, MemberInfo } from '@natter/protocol';
import type { WriteOp, WriteResult } from './write-ops.js';

/** A member row as the fan-out needs it: who may see which range of seqs. */
export interface MemberSpan {
  userId: string;
  joinedSeq: number;
  /** null while a member; else the seq of the event that removed them (they still see up to it). */
  leftSeq: number | null;
}

/** A current channel membership, as the live path needs it: where the member's view starts. */
export interface ChannelMembership {
  conversationId: string;
  joinedSeq: number;
}

export interface EventPage {
  events: ChatEvent[];
  hasMore: boolean;
}

/** Conversation id -> the seq up to which the client holds every event. */
export type HeldSeqs = ReadonlyMap<string, number>;
export const NOTHING_HELD: HeldSeqs = new Map();

export interface SyncPage {
  conversations: ConversationSummary[];
  events: ChatEvent[];
  truncated: string[];
  /** Resume pages only: conversations the user hid since `after` (they have no summary here). */
  hidden: string[];
  /** The position to present next time. */
  position: number;
  hasMore: boolean;
}

/**
 * The durable conversation log. Contract:
 * - `commit` applies all ops in ONE transaction and returns only after it is durable (fsync);
 *   successive calls are committed in the order they were made and settle in that order, even
 *   when the caller does not wait for one before making the next;
 *   results line up with ops, each op succeeds or fails on its own (a failed op writes nothing).
 *   If the transaction itself fails, the promise rejects and nothing of the batch is stored.
 * - Each conversation's seq is assigned inside that transaction: 1, 2, 3, ... gap-free, in commit order.
 * - Every committed change (event or cursor move) gets a store-wide position, increasing in commit
 *   order; a user's change token is the highest position among the conversations they can see.
 * - Reads see only committed data. A conversation the user is not (and never was) a member of reads
 *   as `null`, exactly like one that does not exist.
 */
export interface LogStore {
  commit(ops: WriteOp[]): Promise<WriteResult[]>;

  /**
   * Conversations whose view changed after position `after` (0: all), oldest change first, `limit`
   * per page; with `eventsPerConversation` > 0, also their events committed after `eventsSince`.
   * A resume that takes several pages keeps `eventsSince` at the client's token and moves `after`
   * to each page's position, so a conversation on a later page still gets all its new events.
   * `held` names conversations where the client already holds every event up to a seq: their
   * events start after it (it never adds events, and an entry for any other conversation is ignored).
   * All of one call reads one snapshot. A position beyond the store's newest (a token from a
   * restored or replaced database) is refused with `bad_request`: the client must start over.
   */
  syncSince(
    userId: string,
    after: number,
    eventsSince: number,
    limit: number,
    eventsPerConversation: number,
    held?: HeldSeqs,
  ): Promise<SyncPage>;
  /** Events with seq > afterSeq the user may see, ascending. */
  fetchAfter(
    userId: string,
    conversationId: string,
    afterSeq: number,
    limit: number,
  ): Promise<EventPage | null>;
  /** The page of events just before beforeSeq (newest page when null), ascending. */
  historyBefore(
    userId: string,
    conversationId: string,
    beforeSeq: number | null,
    limit: number,
  ): Promise<EventPage | null>;
  /**
   * The page of the thread under `rootSeq` just before thread seq `beforeThreadSeq` (newest page
   * when null), ascending by thread seq: only replies the user may see. Null when the user is not
   * (and never was) a member, or no thread grows under that seq.
   */
  threadBefore(
    userId: string,
    conversationId: string,
    rootSeq: number,
    beforeThreadSeq: number | null,
    limit: number,
  ): Promise<EventPage | null>;
  conversationFor(userId: string, conversationId: string): Promise<ConversationSummary | null>;
  /**
   * Current members with cursors, or null when the user is not a current member. Of a channel: its
   * owners and admins, and the user (listing up to a million members is not a read to answer).
   */
  membersFor(userId: string, conversationId: string): Promise<MemberInfo[] | null>;
  /**
   * Every member span of a conversation, former members included; [] for an unknown conversation
   * and for a channel (it fans out on read: its live delivery goes through ChannelAudience).
   */
  memberSpans(conversationId: string): Promise<{ spans: MemberSpan[]; lastSeq: number }>;
  /**
   * Of `candidates`, those who share at least one conversation (both current members) with userId;
   * channels do not count (they have no presence).
   */
  sharingConversationWith(userId: string, candidates: string[]): Promise<string[]>;
  /**
   * Of `candidates`, those whose membership of some conversation overlapped the user's (either may
   * have left since): the people whose events the user can see in a history, whom it may name.
   */
  seenAlongside(userId: string, candidates: string[]): Promise<string[]>;
  /** The user's change token position: the highest position among the conversations they can see. */
  latestPosition(userId: string): Promise<number>;
  /** The channels the user is a current member of (a user is in few): for the live path's audience. */
  channelsOf(userId: string): Promise<ChannelMembership[]>;
  close(): Promise<void>;
}
