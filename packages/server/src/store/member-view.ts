import type { ChatEvent, ConversationSummary } from '@natter/protocol';
import type { ConversationRow, MemberRow } from './log-rows.js';
import { asSeenFrom } from './pre-join-view.js';

/**
 * What a member (current or former) sees of a conversation, as pure functions of the rows an
 * adapter read in one snapshot. A former member's view freezes at their removal: they see seqs up
 * to the removal event and nothing that changed later.
 */

/** A member row joined with its conversation. */
export type MemberView = ConversationRow & MemberRow;

/** Unread counts stop at this many: a summary never counts more. */
export const UNREAD_CAP = 9999;

/** What a member may see of a conversation: seqs in [joinedSeq, upperSeq]. */
export interface Visible {
  joinedSeq: number;
  upperSeq: number;
}

export function visibleRange(view: MemberView): Visible {
  return { joinedSeq: view.joined_seq, upperSeq: view.left_seq ?? view.last_seq };
}

/**
 * Unread messages are the visible ones after this seq (by others, not deleted, not in a thread: a
 * thread's replies count in its own unread; up to UNREAD_CAP).
 */
export function unreadAfter(view: MemberView): number {
  return Math.max(view.read_seq, view.joined_seq - 1);
}

/** Over the other current members: their lowest cursors and lowest user_id (null when none). */
export interface PeerCursors {
  read: number | null;
  delivered: number | null;
  peer: string | null;
}

/** What a summary reads besides the view row. */
export interface SummaryReads {
  /** The newest visible message. */
  lastMessage: ChatEvent | null;
  unread: number;
  /** Unread messages (same rule as `unread`) that mention the member: see mentionsAfter. */
  mentions: number;
  /** Unread replies in the threads the member follows. */
  threadUnread: number;
  /** Pinned seqs, most recently pinned first (a former member's are not read: see frozenSummary). */
  pinned: number[];
  peers: PeerCursors;
}

/**
 * The summary as a current member sees it. For a former member, pass it on to frozenSummary. A
 * direct conversation's peer is the other member (the user themself when alone in it); with no
 * peers, the peers' cursors read as the user's own.
 */
export function summaryOf(view: MemberView, reads: SummaryReads): ConversationSummary {
  const { peers } = reads;
  return {
    conversation_id: view.conversation_id,
    kind: view.kind,
    title: view.title,
    peer_id: view.kind === 'direct' ? (peers.peer ?? view.user_id) : null,
    role: view.role,
    member_count: view.member_count,
    last_seq: visibleRange(view).upperSeq,
    joined_seq: view.joined_seq,
    left_seq: view.left_seq,
    read_seq: view.read_seq,
    delivered_seq: view.delivered_seq,
    unread: reads.unread,
    mentions: reads.mentions,
    pinned: reads.pinned,
    notifications: view.notifications,
    group_mentions: view.group_mentions,
    posting: view.posting,
    thread_unread: reads.threadUnread,
    peers_read_seq: peers.read ?? view.read_seq,
    peers_delivered_seq: peers.delivered ?? view.delivered_seq,
    last_message: reads.lastMessage && asSeenFrom(reads.lastMessage, view.joined_seq),
    created_at: view.created_at,
    updated_at: view.updated_at,
  };
}

/** What a former member's summary reads as of their removal (the event at `leftSeq`). */
export interface FrozenReads {
  /** The title set by the last created/renamed event up to the removal. */
  title: string | null;
  /** Over the others who were members at the removal: how many, and their lowest cursors. */
  peers: { n: number; read: number | null; delivered: number | null };
  /** When the removal happened; undefined if its event is not found. */
  removedAt: number | undefined;
}

/** A former member's summary: nothing that changed after their removal shows through. */
export function frozenSummary(
  summary: ConversationSummary,
  leftSeq: number,
  reads: FrozenReads,
): ConversationSummary {
  const { peers } = reads;
  return {
    ...summary,
    title: reads.title,
    member_count: peers.n,
    // Pins change after the removal (unpins leave no trace to rewind): a former member sees none.
    pinned: [],
    peers_read_seq: Math.min(peers.read ?? summary.read_seq, leftSeq),
    peers_delivered_seq: Math.min(peers.delivered ?? summary.delivered_seq, leftSeq),
    updated_at: reads.removedAt ?? summary.updated_at,
  };
}
