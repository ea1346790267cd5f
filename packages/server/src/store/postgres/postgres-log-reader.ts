import {
  type ChatEvent,
  type ConversationSummary,
  MAX_PINS,
  type MemberInfo,
  type ThreadSummary,
} from '@natter/protocol';
import {
  type ReactionCountRow,
  summariesFromCounts,
  summariesFromEvents,
  withReactions,
} from '../annotation-rules.js';
import { mergeByPosition, NO_PEERS } from '../channel-rules.js';
import type { MemberRow } from '../log-rows.js';
import {
  type ChannelMembership,
  type EventPage,
  type HeldSeqs,
  type MemberSpan,
  NOTHING_HELD,
  type SyncPage,
} from '../log-store.js';
import {
  frozenSummary,
  type MemberView,
  summaryOf,
  UNREAD_CAP,
  unreadAfter,
  visibleRange,
} from '../member-view.js';
import { asSeenFrom } from '../pre-join-view.js';
import { checkSyncToken, SyncPageAssembler } from '../sync-page.js';
import { isThreadRootReadable, type ThreadRow, threadSummaryOf, withThreads } from '../thread-rules.js';
import { changedChannelViews, channelMemberships, latestChannelPosition } from './postgres-channel-views.js';
import type { Queryable, Tx } from './postgres-connection.js';
import { type EventRow, toChatEvent } from './postgres-rows.js';

type ChangedView = MemberView & { view_pos: number };

/**
 * Read side of the PostgreSQL store. Every method of several queries runs inside one read-only
 * REPEATABLE READ transaction (the store opens it), so all its queries see one snapshot while
 * other nodes commit; a method of one query takes any connection (a statement is its own snapshot).
 * Independent queries are issued together: the driver pipelines them on the transaction's
 * connection, one round trip for the lot. A former member's view freezes at their removal.
 */
export class PostgresLogReader {
  /**
   * Resume reads the user's change index from the token on (changedViews): it touches only the
   * conversations that changed, however many the user is in.
   */
  async syncSince(
    tx: Tx,
    userId: string,
    after: number,
    eventsSince: number,
    limit: number,
    eventsPerConversation: number,
    held: HeldSeqs = NOTHING_HELD,
  ): Promise<SyncPage> {
    const [clock] = await tx<{ position: number }[]>`SELECT position FROM change_clock`;
    checkSyncToken(after, eventsSince, clock?.position ?? 0);
    const [indexed, channels] = await Promise.all([
      changedViews(tx, userId, after, limit + 1),
      changedChannelViews(tx, userId, after, limit + 1),
    ]);
    const rows = mergeByPosition<ChangedView>(indexed, channels, limit + 1);
    const page = new SyncPageAssembler(rows, { after, limit, eventsPerConversation });
    for (const row of page.viewsThatFit()) {
      if (row.hidden === 1) {
        page.hide(row.conversation_id);
        continue;
      }
      const [summary, found] = await Promise.all([
        this.summarize(tx, row),
        page.eventsToRead === 0
          ? []
          : this.eventsSincePosition(
              tx,
              row,
              eventsSince,
              held.get(row.conversation_id) ?? 0,
              page.eventsToRead,
            ),
      ]);
      page.add(summary, await this.annotate(tx, row, found.map(toChatEvent)));
    }
    return page.finish(page.hasMore ? null : await this.latestPosition(tx, userId));
  }

  async fetchAfter(
    tx: Tx,
    userId: string,
    conversationId: string,
    afterSeq: number,
    limit: number,
  ): Promise<EventPage | null> {
    const view = await this.view(tx, conversationId, userId);
    if (!view) return null;
    const visible = visibleRange(view);
    const rows = await eventsAfter(
      tx,
      conversationId,
      Math.max(afterSeq, visible.joinedSeq - 1),
      visible.upperSeq,
      limit + 1,
    );
    const events = await this.annotate(tx, view, rows.slice(0, limit).map(toChatEvent));
    return { events, hasMore: rows.length > limit };
  }

  async historyBefore(
    tx: Tx,
    userId: string,
    conversationId: string,
    beforeSeq: number | null,
    limit: number,
  ): Promise<EventPage | null> {
    const view = await this.view(tx, conversationId, userId);
    if (!view) return null;
    const visible = visibleRange(view);
    const before = Math.min(beforeSeq ?? Number.MAX_SAFE_INTEGER, visible.upperSeq + 1);
    const rows = await tx<EventRow[]>`
      SELECT * FROM events WHERE conversation_id = ${conversationId} AND seq >= ${visible.joinedSeq} AND seq < ${before}
      ORDER BY seq DESC LIMIT ${limit + 1}`;
    const events = await this.annotate(tx, view, rows.slice(0, limit).reverse().map(toChatEvent));
    return { events, hasMore: rows.length > limit };
  }

  async threadBefore(
    tx: Tx,
    userId: string,
    conversationId: string,
    rootSeq: number,
    beforeThreadSeq: number | null,
    limit: number,
  ): Promise<EventPage | null> {
    const [view, [root]] = await Promise.all([
      this.view(tx, conversationId, userId),
      tx<{ kind: string; thread_root: number | null }[]>`
        SELECT kind, thread_root FROM events WHERE conversation_id = ${conversationId} AND seq = ${rootSeq}`,
    ]);
    if (!view) return null;
    const visible = visibleRange(view);
    if (!isThreadRootReadable(visible, rootSeq, () => root)) return null;
    const before = beforeThreadSeq ?? Number.MAX_SAFE_INTEGER;
    const rows = await tx<EventRow[]>`
      SELECT * FROM events WHERE conversation_id = ${conversationId} AND thread_root = ${rootSeq}
        AND thread_seq < ${before} AND seq >= ${visible.joinedSeq} AND seq <= ${visible.upperSeq}
      ORDER BY thread_seq DESC LIMIT ${limit + 1}`;
    const events = await this.annotate(tx, view, rows.slice(0, limit).reverse().map(toChatEvent));
    return { events, hasMore: rows.length > limit };
  }

  async conversationFor(tx: Tx, userId: string, conversationId: string): Promise<ConversationSummary | null> {
    const view = await this.view(tx, conversationId, userId);
    return view ? this.summarize(tx, view) : null;
  }

  async membersFor(tx: Tx, userId: string, conversationId: string): Promise<MemberInfo[] | null> {
    const view = await this.view(tx, conversationId, userId);
    if (!view || view.left_seq !== null) return null;
    const members =
      view.kind === 'channel'
        ? // Through the partial index of managers, and the user's own row by key: never the other members.
          await tx<MemberRow[]>`
            SELECT * FROM members WHERE conversation_id = ${conversationId} AND role <> 'member' AND left_seq IS NULL
            UNION SELECT * FROM members WHERE conversation_id = ${conversationId} AND user_id = ${userId}
              AND left_seq IS NULL
            ORDER BY joined_seq, user_id`
        : await tx<MemberRow[]>`
            SELECT * FROM members WHERE conversation_id = ${conversationId} AND left_seq IS NULL
            ORDER BY joined_seq, user_id`;
    return members.map((m) => ({
      user_id: m.user_id,
      role: m.role,
      joined_seq: m.joined_seq,
      delivered_seq: m.delivered_seq,
      read_seq: m.read_seq,
    }));
  }

  /**
   * One statement, so the spans and the last seq are of one snapshot: a cluster node reloads them
   * whenever another node committed to a conversation it routes (see MemberDirectory). A channel
   * has no spans (it fans out on read): only its last seq.
   */
  async memberSpans(
    sql: Queryable,
    conversationId: string,
  ): Promise<{ spans: MemberSpan[]; lastSeq: number }> {
    const rows = await sql<
      { last_seq: number; user_id: string | null; joined_seq: number; left_seq: number | null }[]
    >`
      SELECT c.last_seq, m.user_id, m.joined_seq, m.left_seq
      FROM conversations c LEFT JOIN members m ON m.conversation_id = c.id AND c.kind <> 'channel'
      WHERE c.id = ${conversationId}`;
    const spans = rows.flatMap((m) =>
      m.user_id === null ? [] : [{ userId: m.user_id, joinedSeq: m.joined_seq, leftSeq: m.left_seq }],
    );
    return { spans, lastSeq: rows[0]?.last_seq ?? 0 };
  }

  async sharingConversationWith(sql: Queryable, userId: string, candidates: string[]): Promise<string[]> {
    if (candidates.length === 0) return [];
    const rows = await sql<{ user_id: string }[]>`
      SELECT DISTINCT other.user_id
      FROM user_conversations uc
      JOIN members mine ON mine.conversation_id = uc.conversation_id AND mine.user_id = uc.user_id
        AND mine.left_seq IS NULL
      JOIN members other ON other.conversation_id = uc.conversation_id AND other.left_seq IS NULL
        AND other.user_id = ANY(${candidates}::text[])
      WHERE uc.user_id = ${userId}`;
    return rows.map((r) => r.user_id);
  }

  async seenAlongside(sql: Queryable, userId: string, candidates: string[]): Promise<string[]> {
    if (candidates.length === 0) return [];
    const rows = await sql<{ user_id: string }[]>`
      SELECT DISTINCT other.user_id
      FROM (SELECT conversation_id, user_id FROM user_conversations WHERE user_id = ${userId}
            UNION ALL SELECT conversation_id, user_id FROM user_channels WHERE user_id = ${userId}) uc
      JOIN members mine ON mine.conversation_id = uc.conversation_id AND mine.user_id = uc.user_id
      JOIN members other ON other.conversation_id = uc.conversation_id
        AND other.user_id = ANY(${candidates}::text[])
        AND other.joined_seq <= coalesce(mine.left_seq, ${Number.MAX_SAFE_INTEGER})
        AND mine.joined_seq <= coalesce(other.left_seq, ${Number.MAX_SAFE_INTEGER})
      WHERE uc.user_id = ${userId}`;
    return rows.map((r) => r.user_id);
  }

  /** The highest view position of the user: one index entry, the top of (user_id, view_pos). */
  async latestPosition(tx: Tx, userId: string): Promise<number> {
    const [[row], channels] = await Promise.all([
      tx<
        { pos: number | null }[]
      >`SELECT max(view_pos) AS pos FROM user_conversations WHERE user_id = ${userId}`,
      latestChannelPosition(tx, userId),
    ]);
    return Math.max(row?.pos ?? 0, channels);
  }

  channelsOf(tx: Tx, userId: string): Promise<ChannelMembership[]> {
    return channelMemberships(tx, userId);
  }

  private async view(tx: Tx, conversationId: string, userId: string): Promise<MemberView | undefined> {
    const [row] = await tx<MemberView[]>`
      SELECT c.*, m.* FROM members m JOIN conversations c ON c.id = m.conversation_id
      WHERE m.conversation_id = ${conversationId} AND m.user_id = ${userId}`;
    return row;
  }

  /**
   * The visible events committed after position `since`. Within a conversation positions grow
   * with seqs, so the boundary is the newest event at or below `since`, found by walking the
   * primary key backwards: the cost is in proportion to the events returned.
   */
  private eventsSincePosition(tx: Tx, row: MemberView, since: number, heldSeq: number, limit: number) {
    const visible = visibleRange(row);
    const id = row.conversation_id;
    const floor = Math.max(visible.joinedSeq - 1, heldSeq);
    return tx<EventRow[]>`
      SELECT * FROM events WHERE conversation_id = ${id} AND seq <= ${visible.upperSeq}
        AND seq > greatest(${floor}, coalesce((SELECT seq FROM events
          WHERE conversation_id = ${id} AND pos <= ${since} ORDER BY seq DESC LIMIT 1), 0))
      ORDER BY seq LIMIT ${limit}`;
  }

  /**
   * The messages among `events` with their reactions and threads folded in: from the running
   * counts for a member; from the events up to their removal for a former member.
   */
  private async annotate(tx: Tx, view: MemberView, stored: ChatEvent[]): Promise<ChatEvent[]> {
    const events = stored.map((e) => asSeenFrom(e, view.joined_seq));
    const seqs = events.filter((e) => e.kind === 'message').map((e) => e.seq);
    if (seqs.length === 0) return events;
    const [low, high] = [Math.min(...seqs), Math.max(...seqs)];
    const id = view.conversation_id;
    if (view.left_seq === null) {
      const rows = await tx<ReactionCountRow[]>`
        SELECT c.target_seq, c.emoji, c.count, c.first_seq, c.last_seq,
          EXISTS (SELECT 1 FROM reactions r WHERE r.conversation_id = c.conversation_id
            AND r.target_seq = c.target_seq AND r.emoji = c.emoji AND r.user_id = ${view.user_id}) AS me
        FROM reaction_counts c WHERE c.conversation_id = ${id} AND c.target_seq BETWEEN ${low} AND ${high}`;
      const threads = await this.threadSummaries(tx, view, low, high);
      return withThreads(withReactions(events, summariesFromCounts(rows)), threads);
    }
    const [rows, threads] = await Promise.all([
      tx<EventRow[]>`
        SELECT * FROM events WHERE conversation_id = ${id} AND kind = 'reaction'
          AND ref_seq BETWEEN ${low} AND ${high} AND seq <= ${view.left_seq} ORDER BY seq`,
      this.threadSummaries(tx, view, low, high),
    ]);
    return withThreads(
      withReactions(events, summariesFromEvents(rows.map(toChatEvent), view.user_id)),
      threads,
    );
  }

  /** The thread summaries of the roots among seqs low..high, as the view's user sees them. */
  private async threadSummaries(
    tx: Tx,
    view: MemberView,
    low: number,
    high: number,
  ): Promise<Map<number, ThreadSummary>> {
    const id = view.conversation_id;
    const out = new Map<number, ThreadSummary>();
    if (view.left_seq !== null) {
      const rows = await tx<ThreadRow[]>`
        SELECT DISTINCT ON (thread_root) thread_root AS root_seq, thread_seq AS reply_count, seq AS last_reply_seq,
          created_at AS last_reply_at, '[]'::jsonb AS participants
        FROM events WHERE conversation_id = ${id} AND thread_root BETWEEN ${low} AND ${high}
          AND seq <= ${view.left_seq}
        ORDER BY thread_root, thread_seq DESC`;
      for (const row of rows) out.set(row.root_seq, threadSummaryOf(row, null, 0));
      return out;
    }
    const rows = await tx<(ThreadRow & { my_read: number | null; unread: number })[]>`
      SELECT t.root_seq, t.reply_count, t.last_reply_seq, t.last_reply_at, t.participants, r.read_seq AS my_read,
        CASE WHEN r.read_seq IS NULL THEN 0 ELSE (SELECT count(*)::integer FROM events e
          WHERE e.conversation_id = t.conversation_id AND e.thread_root = t.root_seq AND e.thread_seq > r.read_seq
            AND e.sender_id <> ${view.user_id} AND NOT e.deleted AND e.seq >= ${view.joined_seq}) END AS unread
      FROM threads t LEFT JOIN thread_reads r
        ON r.conversation_id = t.conversation_id AND r.root_seq = t.root_seq AND r.user_id = ${view.user_id}
      WHERE t.conversation_id = ${id} AND t.root_seq BETWEEN ${low} AND ${high}`;
    for (const { my_read: read, unread, ...row } of rows)
      out.set(row.root_seq, threadSummaryOf(row, read, unread));
    return out;
  }

  private async summarize(tx: Tx, row: MemberView): Promise<ConversationSummary> {
    const visible = visibleRange(row);
    const after = unreadAfter(row);
    const [[last], [unread], [mentions], [threadUnread], pinned, [peers]] = await Promise.all([
      tx<EventRow[]>`
        SELECT * FROM events WHERE conversation_id = ${row.conversation_id} AND kind = 'message'
          AND thread_root IS NULL AND seq >= ${visible.joinedSeq} AND seq <= ${visible.upperSeq}
        ORDER BY seq DESC LIMIT 1`,
      tx<{ n: number }[]>`
        SELECT count(*)::integer AS n FROM (SELECT 1 FROM events WHERE conversation_id = ${row.conversation_id}
          AND seq > ${after} AND seq <= ${visible.upperSeq} AND kind = 'message' AND thread_root IS NULL
          AND NOT deleted
          AND sender_id <> ${row.user_id} LIMIT ${UNREAD_CAP}) capped`,
      tx<{ n: number }[]>`
        SELECT count(*)::integer AS n FROM (SELECT DISTINCT seq FROM mentions
          WHERE conversation_id = ${row.conversation_id} AND user_id IN (${row.user_id}, '@all', '@here')
            AND seq > ${after} AND seq <= ${visible.upperSeq} AND sender_id <> ${row.user_id}
          LIMIT ${UNREAD_CAP}) capped`,
      // A former member follows no thread any more (their roots say following: false).
      row.left_seq !== null
        ? [{ n: 0 }]
        : tx<{ n: number }[]>`
        SELECT count(*)::integer AS n FROM (SELECT 1 FROM thread_reads r JOIN events e
            ON e.conversation_id = r.conversation_id AND e.thread_root = r.root_seq AND e.thread_seq > r.read_seq
          WHERE r.conversation_id = ${row.conversation_id} AND r.user_id = ${row.user_id}
            AND e.sender_id <> ${row.user_id} AND NOT e.deleted
            AND e.seq >= ${visible.joinedSeq} AND e.seq <= ${visible.upperSeq}
          LIMIT ${UNREAD_CAP}) capped`,
      row.left_seq === null
        ? tx<{ target_seq: number }[]>`
            SELECT target_seq FROM pins WHERE conversation_id = ${row.conversation_id}
              AND target_seq >= ${row.joined_seq} ORDER BY pinned_seq DESC LIMIT ${MAX_PINS}`
        : [],
      row.kind === 'channel'
        ? [NO_PEERS]
        : tx<{ read: number | null; delivered: number | null; peer: string | null }[]>`
        SELECT min(read_seq) AS read, min(delivered_seq) AS delivered, min(user_id) AS peer FROM members
        WHERE conversation_id = ${row.conversation_id} AND user_id <> ${row.user_id} AND left_seq IS NULL`,
    ]);
    const summary = summaryOf(row, {
      lastMessage: last ? toChatEvent(last) : null,
      unread: unread!.n,
      mentions: mentions!.n,
      threadUnread: threadUnread!.n,
      pinned: pinned.map((p) => p.target_seq),
      peers: peers!,
    });
    return row.left_seq === null ? summary : this.frozenAt(tx, summary, row.left_seq, row.user_id);
  }

  private async frozenAt(
    tx: Tx,
    summary: ConversationSummary,
    leftSeq: number,
    userId: string,
  ): Promise<ConversationSummary> {
    const id = summary.conversation_id;
    // A channel's members as of a removal would be a scan of all of them: it keeps its count of today.
    const channelPeers = { n: summary.member_count, read: null, delivered: null };
    const [[titleEvent], [peers], [removal]] = await Promise.all([
      tx<{ title: string | null }[]>`
        SELECT data->>'title' AS title FROM events WHERE conversation_id = ${id}
          AND kind IN ('created', 'renamed') AND seq <= ${leftSeq}
        ORDER BY seq DESC LIMIT 1`,
      summary.kind === 'channel'
        ? [channelPeers]
        : tx<{ n: number; read: number | null; delivered: number | null }[]>`
        SELECT count(*)::integer AS n, min(read_seq) AS read, min(delivered_seq) AS delivered FROM members
        WHERE conversation_id = ${id} AND user_id <> ${userId} AND joined_seq <= ${leftSeq}
          AND (left_seq IS NULL OR left_seq > ${leftSeq})`,
      tx<
        { created_at: number }[]
      >`SELECT created_at FROM events WHERE conversation_id = ${id} AND seq = ${leftSeq}`,
    ]);
    return frozenSummary(summary, leftSeq, {
      title: titleEvent?.title ?? null,
      peers: peers!,
      removedAt: removal?.created_at,
    });
  }
}

/**
 * The user's views that changed after position `after`, oldest change first: a range of the
 * (user_id, view_pos) index, then each conversation and member row by primary key.
 */
export function changedViews(sql: Queryable, userId: string, after: number, limit: number) {
  return sql<ChangedView[]>`
    SELECT c.*, m.*, uc.view_pos
    FROM (SELECT conversation_id, view_pos FROM user_conversations
          WHERE user_id = ${userId} AND view_pos > ${after} ORDER BY view_pos LIMIT ${limit}) uc
    JOIN members m ON m.conversation_id = uc.conversation_id AND m.user_id = ${userId}
    JOIN conversations c ON c.id = uc.conversation_id
    ORDER BY uc.view_pos`;
}

function eventsAfter(tx: Tx, conversationId: string, afterSeq: number, upToSeq: number, limit: number) {
  return tx<EventRow[]>`
    SELECT * FROM events WHERE conversation_id = ${conversationId} AND seq > ${afterSeq} AND seq <= ${upToSeq}
    ORDER BY seq LIMIT ${limit}`;
}
