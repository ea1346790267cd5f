import {
  type ChatEvent,
  type ConversationSummary,
  MAX_PINS,
  type MemberInfo,
  type ThreadSummary,
} from '@natter/protocol';
import type Database from 'better-sqlite3';
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
import { SqliteChannelViews } from './sqlite-channel-views.js';
import { type EventRow, toChatEvent } from './sqlite-rows.js';

/** A member row joined with its conversation, and the position at which the member's view last changed. */
type ViewRow = MemberView & { view_pos: number };

/**
 * Read side of the embedded store. A former member's view freezes at their removal: their view
 * position is the removal's position and they see seqs up to the removal event, nothing after.
 */
export class SqliteLogReader {
  private readonly sql;
  private readonly channels: SqliteChannelViews;

  constructor(db: Database.Database) {
    this.channels = new SqliteChannelViews(db);
    const viewPos = 'CASE WHEN m.left_seq IS NULL THEN c.change_pos ELSE m.left_pos END';
    this.sql = {
      // The per-user change index (user_views) lists the changed memberships in position order;
      // it holds no channel (their views come from SqliteChannelViews).
      changedViews: db.prepare<[string, number, number], ViewRow>(
        `SELECT c.*, m.*, v.view_pos FROM user_views v
         JOIN members m ON m.conversation_id = v.conversation_id AND m.user_id = v.user_id
         JOIN conversations c ON c.id = v.conversation_id
         WHERE v.user_id = ? AND v.view_pos > ? ORDER BY v.view_pos LIMIT ?`,
      ),
      storePosition: db.prepare<[], { value: number }>(`SELECT value FROM meta WHERE key = 'position'`),
      view: db.prepare<[string, string], ViewRow>(
        `SELECT c.*, m.*, ${viewPos} AS view_pos FROM members m JOIN conversations c ON c.id = m.conversation_id
         WHERE m.conversation_id = ? AND m.user_id = ?`,
      ),
      latestPosition: db.prepare<[string], { pos: number | null }>(
        `SELECT max(view_pos) AS pos FROM user_views WHERE user_id = ?`,
      ),
      seqAtOrBeforePos: db.prepare<[string, number], { seq: number }>(
        `SELECT seq FROM events WHERE conversation_id = ? AND pos <= ? ORDER BY seq DESC LIMIT 1`,
      ),
      eventsAfter: db.prepare<[string, number, number, number], EventRow>(
        `SELECT * FROM events WHERE conversation_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?`,
      ),
      eventsBefore: db.prepare<[string, number, number, number], EventRow>(
        `SELECT * FROM events WHERE conversation_id = ? AND seq >= ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
      ),
      // The summary's two walks of the log read the index of top-level messages, named because
      // without statistics SQLite prefers the primary key and walks every event in the range.
      lastMessage: db.prepare<[string, number, number], EventRow>(
        `SELECT * FROM events INDEXED BY events_top_messages WHERE conversation_id = ? AND kind = 'message'
         AND thread_root IS NULL AND seq >= ? AND seq <= ? ORDER BY seq DESC LIMIT 1`,
      ),
      unread: db.prepare<[string, number, number, string, number], { n: number }>(
        `SELECT count(*) AS n FROM (SELECT 1 FROM events INDEXED BY events_top_messages
         WHERE conversation_id = ? AND seq > ? AND seq <= ?
         AND kind = 'message' AND thread_root IS NULL AND deleted = 0 AND sender_id != ? LIMIT ?)`,
      ),
      threadUnread: db.prepare<
        { conversation: string; user: string; joined: number; upper: number; cap: number },
        { n: number }
      >(
        `SELECT count(*) AS n FROM (SELECT 1 FROM thread_reads r JOIN events e
           ON e.conversation_id = r.conversation_id AND e.thread_root = r.root_seq AND e.thread_seq > r.read_seq
         WHERE r.conversation_id = @conversation AND r.user_id = @user AND e.sender_id != @user
           AND e.deleted = 0 AND e.seq >= @joined AND e.seq <= @upper LIMIT @cap)`,
      ),
      threads: db.prepare<[string, string, number, number], ThreadRow & { my_read: number | null }>(
        `SELECT t.root_seq, t.reply_count, t.last_reply_seq, t.last_reply_at, t.participants, r.read_seq AS my_read
         FROM threads t LEFT JOIN thread_reads r
           ON r.conversation_id = t.conversation_id AND r.root_seq = t.root_seq AND r.user_id = ?
         WHERE t.conversation_id = ? AND t.root_seq BETWEEN ? AND ?`,
      ),
      threadsUpTo: db.prepare<{ conversation: string; low: number; high: number; upper: number }, ThreadRow>(
        `SELECT e.thread_root AS root_seq, e.thread_seq AS reply_count, e.seq AS last_reply_seq,
           e.created_at AS last_reply_at, '[]' AS participants
         FROM events e WHERE e.conversation_id = @conversation AND e.thread_root BETWEEN @low AND @high
           AND e.seq <= @upper
           AND e.thread_seq = (SELECT max(x.thread_seq) FROM events x WHERE x.conversation_id = e.conversation_id
             AND x.thread_root = e.thread_root AND x.seq <= @upper)`,
      ),
      event: db.prepare<[string, number], EventRow>(
        `SELECT * FROM events WHERE conversation_id = ? AND seq = ?`,
      ),
      threadUnreadOne: db.prepare<[string, number, number, string, number], { n: number }>(
        `SELECT count(*) AS n FROM events WHERE conversation_id = ? AND thread_root = ? AND thread_seq > ?
         AND sender_id != ? AND deleted = 0 AND seq >= ?`,
      ),
      threadPage: db.prepare<[string, number, number, number, number, number], EventRow>(
        `SELECT * FROM events WHERE conversation_id = ? AND thread_root = ? AND thread_seq < ?
         AND seq >= ? AND seq <= ? ORDER BY thread_seq DESC LIMIT ?`,
      ),
      peers: db.prepare<
        [string, string],
        { read: number | null; delivered: number | null; peer: string | null }
      >(
        `SELECT min(read_seq) AS read, min(delivered_seq) AS delivered, min(user_id) AS peer FROM members
         WHERE conversation_id = ? AND user_id != ? AND left_seq IS NULL`,
      ),
      titleAt: db.prepare<[string, number], { data: string | null }>(
        `SELECT data FROM events WHERE conversation_id = ? AND kind IN ('created', 'renamed') AND seq <= ?
         ORDER BY seq DESC LIMIT 1`,
      ),
      eventTimeAt: db.prepare<[string, number], { created_at: number }>(
        `SELECT created_at FROM events WHERE conversation_id = ? AND seq = ?`,
      ),
      peersAt: db.prepare<
        { conversation: string; seq: number; user: string },
        { n: number; read: number | null; delivered: number | null }
      >(
        `SELECT count(*) AS n, min(read_seq) AS read, min(delivered_seq) AS delivered FROM members
         WHERE conversation_id = @conversation AND user_id != @user AND joined_seq <= @seq
         AND (left_seq IS NULL OR left_seq > @seq)`,
      ),
      mentions: db.prepare<[string, string, number, number, string, number], { n: number }>(
        `SELECT count(*) AS n FROM (SELECT DISTINCT seq FROM mentions WHERE conversation_id = ?
         AND user_id IN (?, '@all', '@here') AND seq > ? AND seq <= ? AND sender_id != ? LIMIT ?)`,
      ),
      pinned: db.prepare<[string, number, number], { target_seq: number }>(
        `SELECT target_seq FROM pins WHERE conversation_id = ? AND target_seq >= ? ORDER BY pinned_seq DESC LIMIT ?`,
      ),
      reactionCounts: db.prepare<[string, string, number, number], ReactionCountRow>(
        `SELECT c.target_seq, c.emoji, c.count, c.first_seq, c.last_seq,
           EXISTS (SELECT 1 FROM reactions r WHERE r.conversation_id = c.conversation_id
             AND r.target_seq = c.target_seq AND r.emoji = c.emoji AND r.user_id = ?) AS me
         FROM reaction_counts c WHERE c.conversation_id = ? AND c.target_seq BETWEEN ? AND ?`,
      ),
      reactionEvents: db.prepare<[string, number, number, number], EventRow>(
        `SELECT * FROM events WHERE conversation_id = ? AND kind = 'reaction' AND ref_seq BETWEEN ? AND ?
         AND seq <= ? ORDER BY seq`,
      ),
      spans: db.prepare<[string], MemberRow>(`SELECT * FROM members WHERE conversation_id = ?`),
      lastSeq: db.prepare<[string], { last_seq: number; kind: string }>(
        `SELECT last_seq, kind FROM conversations WHERE id = ?`,
      ),
      activeMembers: db.prepare<[string], MemberRow>(
        `SELECT * FROM members WHERE conversation_id = ? AND left_seq IS NULL ORDER BY joined_seq, user_id`,
      ),
      // Through the partial index of managers, and the user's own row by key: never the other members.
      channelManagers: db.prepare<[string, string, string], MemberRow>(
        `SELECT * FROM members INDEXED BY members_managers
         WHERE conversation_id = ? AND role != 'member' AND left_seq IS NULL
         UNION SELECT * FROM members WHERE conversation_id = ? AND user_id = ? AND left_seq IS NULL
         ORDER BY joined_seq, user_id`,
      ),
      sharing: db.prepare<[string, string], { user_id: string }>(
        `SELECT DISTINCT other.user_id FROM members mine
         JOIN members other ON other.conversation_id = mine.conversation_id AND other.left_seq IS NULL
         JOIN conversations c ON c.id = mine.conversation_id AND c.kind != 'channel'
         WHERE mine.user_id = ? AND mine.left_seq IS NULL AND other.user_id IN (SELECT value FROM json_each(?))`,
      ),
      seenAlongside: db.prepare<[string, string], { user_id: string }>(
        `SELECT DISTINCT other.user_id FROM members mine
         JOIN members other ON other.conversation_id = mine.conversation_id
           AND other.joined_seq <= coalesce(mine.left_seq, ${Number.MAX_SAFE_INTEGER})
           AND mine.joined_seq <= coalesce(other.left_seq, ${Number.MAX_SAFE_INTEGER})
         WHERE mine.user_id = ? AND other.user_id IN (SELECT value FROM json_each(?))`,
      ),
    };
  }

  syncSince(
    userId: string,
    after: number,
    eventsSince: number,
    limit: number,
    eventsPerConversation: number,
    held: HeldSeqs = NOTHING_HELD,
  ): SyncPage {
    checkSyncToken(after, eventsSince, this.sql.storePosition.get()!.value);
    const rows = mergeByPosition(
      this.sql.changedViews.all(userId, after, limit + 1),
      this.channels.changedSince(userId, after, limit + 1),
      limit + 1,
    );
    const page = new SyncPageAssembler(rows, { after, limit, eventsPerConversation });
    for (const row of page.viewsThatFit()) {
      if (row.hidden === 1) {
        page.hide(row.conversation_id);
        continue;
      }
      const found =
        page.eventsToRead === 0
          ? []
          : this.eventsSincePosition(row, eventsSince, held.get(row.conversation_id) ?? 0, page.eventsToRead);
      page.add(this.summarize(row), found);
    }
    return page.finish(page.hasMore ? null : this.latestPosition(userId));
  }

  fetchAfter(userId: string, conversationId: string, afterSeq: number, limit: number): EventPage | null {
    const view = this.sql.view.get(conversationId, userId);
    if (!view) return null;
    const visible = visibleRange(view);
    const from = Math.max(afterSeq, visible.joinedSeq - 1);
    const rows = this.sql.eventsAfter.all(conversationId, from, visible.upperSeq, limit + 1);
    const hasMore = rows.length > limit;
    return { events: this.annotate(view, rows.slice(0, limit).map(toChatEvent)), hasMore };
  }

  historyBefore(
    userId: string,
    conversationId: string,
    beforeSeq: number | null,
    limit: number,
  ): EventPage | null {
    const view = this.sql.view.get(conversationId, userId);
    if (!view) return null;
    const visible = visibleRange(view);
    const before = Math.min(beforeSeq ?? Number.MAX_SAFE_INTEGER, visible.upperSeq + 1);
    const rows = this.sql.eventsBefore.all(conversationId, visible.joinedSeq, before, limit + 1);
    const hasMore = rows.length > limit;
    return { events: this.annotate(view, rows.slice(0, limit).reverse().map(toChatEvent)), hasMore };
  }

  threadBefore(
    userId: string,
    conversationId: string,
    rootSeq: number,
    beforeThreadSeq: number | null,
    limit: number,
  ): EventPage | null {
    const view = this.sql.view.get(conversationId, userId);
    if (!view) return null;
    const visible = visibleRange(view);
    if (!isThreadRootReadable(visible, rootSeq, () => this.sql.event.get(conversationId, rootSeq)))
      return null;
    const before = beforeThreadSeq ?? Number.MAX_SAFE_INTEGER;
    const rows = this.sql.threadPage.all(
      conversationId,
      rootSeq,
      before,
      visible.joinedSeq,
      visible.upperSeq,
      limit + 1,
    );
    const hasMore = rows.length > limit;
    return { events: this.annotate(view, rows.slice(0, limit).reverse().map(toChatEvent)), hasMore };
  }

  conversationFor(userId: string, conversationId: string): ConversationSummary | null {
    const view = this.sql.view.get(conversationId, userId);
    return view ? this.summarize(view) : null;
  }

  membersFor(userId: string, conversationId: string): MemberInfo[] | null {
    const view = this.sql.view.get(conversationId, userId);
    if (!view || view.left_seq !== null) return null;
    const members =
      view.kind === 'channel'
        ? this.sql.channelManagers.all(conversationId, conversationId, userId)
        : this.sql.activeMembers.all(conversationId);
    return members.map((m) => ({
      user_id: m.user_id,
      role: m.role,
      joined_seq: m.joined_seq,
      delivered_seq: m.delivered_seq,
      read_seq: m.read_seq,
    }));
  }

  memberSpans(conversationId: string): { spans: MemberSpan[]; lastSeq: number } {
    const conversation = this.sql.lastSeq.get(conversationId);
    const lastSeq = conversation?.last_seq ?? 0;
    if (conversation?.kind === 'channel') return { spans: [], lastSeq };
    const spans = this.sql.spans.all(conversationId).map((m) => ({
      userId: m.user_id,
      joinedSeq: m.joined_seq,
      leftSeq: m.left_seq,
    }));
    return { spans, lastSeq };
  }

  sharingConversationWith(userId: string, candidates: string[]): string[] {
    if (candidates.length === 0) return [];
    return this.sql.sharing.all(userId, JSON.stringify(candidates)).map((r) => r.user_id);
  }

  seenAlongside(userId: string, candidates: string[]): string[] {
    if (candidates.length === 0) return [];
    return this.sql.seenAlongside.all(userId, JSON.stringify(candidates)).map((r) => r.user_id);
  }

  latestPosition(userId: string): number {
    return Math.max(this.sql.latestPosition.get(userId)?.pos ?? 0, this.channels.latestPosition(userId));
  }

  channelsOf(userId: string): ChannelMembership[] {
    return this.channels.membershipsOf(userId);
  }

  /** The visible events committed after position `since`: those past the newest event at or below it. */
  private eventsSincePosition(row: ViewRow, since: number, heldSeq: number, limit: number): ChatEvent[] {
    const visible = visibleRange(row);
    const before = this.sql.seqAtOrBeforePos.get(row.conversation_id, since)?.seq ?? 0;
    const from = Math.max(before, visible.joinedSeq - 1, heldSeq);
    const events = this.sql.eventsAfter
      .all(row.conversation_id, from, visible.upperSeq, limit)
      .map(toChatEvent);
    return this.annotate(row, events);
  }

  /**
   * The messages among `events` with their reactions and threads folded in: from the running
   * counts for a member; from the events up to their removal for a former member.
   */
  private annotate(view: MemberView, stored: ChatEvent[]): ChatEvent[] {
    const events = stored.map((e) => asSeenFrom(e, view.joined_seq));
    const seqs = events.filter((e) => e.kind === 'message').map((e) => e.seq);
    if (seqs.length === 0) return events;
    const [low, high] = [Math.min(...seqs), Math.max(...seqs)];
    const id = view.conversation_id;
    const summaries =
      view.left_seq === null
        ? summariesFromCounts(this.sql.reactionCounts.all(view.user_id, id, low, high))
        : summariesFromEvents(
            this.sql.reactionEvents.all(id, low, high, view.left_seq).map(toChatEvent),
            view.user_id,
          );
    return withThreads(withReactions(events, summaries), this.threadSummaries(view, low, high));
  }

  /** The thread summaries of the roots among seqs low..high, as the view's user sees them. */
  private threadSummaries(view: MemberView, low: number, high: number): Map<number, ThreadSummary> {
    const id = view.conversation_id;
    const out = new Map<number, ThreadSummary>();
    if (view.left_seq !== null) {
      for (const row of this.sql.threadsUpTo.all({ conversation: id, low, high, upper: view.left_seq }))
        out.set(row.root_seq, threadSummaryOf(row, null, 0));
      return out;
    }
    for (const { my_read: read, ...row } of this.sql.threads.all(view.user_id, id, low, high)) {
      const unread =
        read === null
          ? 0
          : this.sql.threadUnreadOne.get(id, row.root_seq, read, view.user_id, view.joined_seq)!.n;
      out.set(row.root_seq, threadSummaryOf(row, read, unread));
    }
    return out;
  }

  private summarize(row: ViewRow): ConversationSummary {
    const id = row.conversation_id;
    const visible = visibleRange(row);
    const last = this.sql.lastMessage.get(id, visible.joinedSeq, visible.upperSeq);
    const after = unreadAfter(row);
    // Read up to the end (the usual case, and always after one's own message): nothing to count.
    const allRead = after >= visible.upperSeq;
    const summary = summaryOf(row, {
      lastMessage: last ? toChatEvent(last) : null,
      unread: allRead ? 0 : this.sql.unread.get(id, after, visible.upperSeq, row.user_id, UNREAD_CAP)!.n,
      mentions: allRead
        ? 0
        : this.sql.mentions.get(id, row.user_id, after, visible.upperSeq, row.user_id, UNREAD_CAP)!.n,
      // A former member follows no thread any more (their roots say following: false).
      threadUnread:
        row.left_seq === null
          ? this.sql.threadUnread.get({
              conversation: id,
              user: row.user_id,
              joined: visible.joinedSeq,
              upper: visible.upperSeq,
              cap: UNREAD_CAP,
            })!.n
          : 0,
      pinned:
        row.left_seq === null
          ? this.sql.pinned.all(id, row.joined_seq, MAX_PINS).map((p) => p.target_seq)
          : [],
      peers: row.kind === 'channel' ? NO_PEERS : this.sql.peers.get(id, row.user_id)!,
    });
    return row.left_seq === null ? summary : this.frozenAt(summary, row.left_seq, row.user_id);
  }

  private frozenAt(summary: ConversationSummary, leftSeq: number, userId: string): ConversationSummary {
    const id = summary.conversation_id;
    // A channel's members as of a removal would be a scan of all of them: it keeps its count of today.
    const channel = summary.kind === 'channel';
    const titleEvent = this.sql.titleAt.get(id, leftSeq);
    return frozenSummary(summary, leftSeq, {
      title: titleEvent?.data
        ? ((JSON.parse(titleEvent.data) as { title?: string | null }).title ?? null)
        : null,
      peers: channel
        ? { n: summary.member_count, read: null, delivered: null }
        : this.sql.peersAt.get({ conversation: id, seq: leftSeq, user: userId })!,
      removedAt: this.sql.eventTimeAt.get(id, leftSeq)?.created_at,
    });
  }
}
