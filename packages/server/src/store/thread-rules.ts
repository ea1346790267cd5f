import { type ChatEvent, NatterError, THREAD_PARTICIPANTS_SHOWN, type ThreadSummary } from '@natter/protocol';
import { checkTarget } from './annotation-rules.js';
import type { MemberRow } from './log-rows.js';
import type { Visible } from './member-view.js';

/**
 * Threads, as pure rules both adapters apply inside their transactions. A reply in a thread is a
 * conversation event like any message (its conversation seq keeps the log gap-free and resumable by
 * the one change token), and it also takes the next seq of its thread: the `threads` row of its
 * root counts the replies, so thread seqs are gap-free in commit order too.
 */

/** A `threads` row: the running summary of the thread under one root. */
export interface ThreadRow {
  root_seq: number;
  reply_count: number;
  last_reply_seq: number;
  last_reply_at: number;
  /** JSON text (SQLite) or parsed (PostgreSQL jsonb). */
  participants: string | string[];
}

/**
 * A thread grows under a message the sender can see that is not deleted (`not_found` otherwise),
 * and one level deep only: a reply in a thread cannot be a root.
 */
export function checkThreadRoot(member: MemberRow, root: ChatEvent | undefined): asserts root {
  checkTarget(member, root);
  if (root.data?.thread) {
    throw new NatterError(
      'bad_request',
      'thread_root: a reply in a thread cannot start a thread of its own.',
    );
  }
}

/**
 * Whether a reader may page the thread under `rootSeq`: never past their visible range (a former
 * member learns nothing said after they left); below it, whatever that seq holds, since the answer
 * is only the replies they may see and must tell nothing about what came before they joined; inside
 * it, only under a message that is no reply in a thread.
 */
export function isThreadRootReadable(
  visible: Visible,
  rootSeq: number,
  root: () => { kind: string; thread_root: number | null } | undefined,
): boolean {
  if (rootSeq > visible.upperSeq) return false;
  if (rootSeq < visible.joinedSeq) return true;
  const row = root();
  return row?.kind === 'message' && row.thread_root === null;
}

/** The repliers a summary names after `senderId` replied: most recent first, without repeats. */
export function nextParticipants(participants: readonly string[], senderId: string): string[] {
  return [senderId, ...participants.filter((p) => p !== senderId)].slice(0, THREAD_PARTICIPANTS_SHOWN);
}

export function participantsOf(row: ThreadRow): string[] {
  return typeof row.participants === 'string' ? (JSON.parse(row.participants) as string[]) : row.participants;
}

/**
 * Where a thread cursor moves when asked to `requested`: up to the newest reply, and forward only.
 * Null when it stays (a first read of a thread always moves: it makes the reader a follower).
 */
export function movedThreadCursor(
  current: number | null,
  requested: number,
  replyCount: number,
): number | null {
  const target = Math.min(requested, replyCount);
  return current !== null && target <= current ? null : target;
}

/** The summary a reader sees on a root: `read` is their cursor (null: they do not follow it). */
export function threadSummaryOf(row: ThreadRow, read: number | null, unread: number): ThreadSummary {
  return {
    reply_count: row.reply_count,
    last_reply_seq: row.last_reply_seq,
    last_reply_at: row.last_reply_at,
    participants: participantsOf(row),
    following: read !== null,
    read_seq: read ?? 0,
    unread: read === null ? 0 : unread,
  };
}

/** Puts each root's thread summary on it. */
export function withThreads(events: ChatEvent[], summaries: ReadonlyMap<number, ThreadSummary>): ChatEvent[] {
  if (summaries.size === 0) return events;
  return events.map((e) => {
    const thread = e.kind === 'message' ? summaries.get(e.seq) : undefined;
    return thread ? { ...e, thread } : e;
  });
}
