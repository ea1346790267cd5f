import type { RunEvent } from './postgres-bulk-messages.js';
import type { Tx } from './postgres-connection.js';
import type { EventRow } from './postgres-rows.js';

/**
 * Store-wide change positions in commit order, across nodes.
 *
 * A position must never become visible below one a client has already synced past. A PostgreSQL
 * sequence does not give that: transaction A takes 41, B takes 42, B commits, a client syncs up to
 * 42, then A commits 41 and the client never sees it. So positions come from one counter row,
 * `change_clock`, and a batch takes it as the LAST statement of its transaction, after every check
 * and insert: `UPDATE change_clock ... RETURNING` row-locks the counter until COMMIT, so the next
 * batch (on this node or any other) gets its positions only after this one committed, and is
 * visible only after it. Positions are therefore increasing in commit order, with no gaps to wait
 * for and no horizon to compute.
 *
 * Until then a batch numbers its position-taking changes 1..n (`PositionPlan`), and the tail
 * statement turns ordinal k into base + k everywhere it is stored: each new event's `pos`, each
 * touched conversation's `change_pos`, a removed member's `left_pos`, the `view_pos` of every
 * member whose view moved (`user_conversations`, the per-user index resume reads), and the
 * `own_pos` of a channel member whose own view moved. A channel's members are not stamped when it
 * changes: a resume compares its `change_pos` with the token instead (fan-out on read).
 *
 * The cost: the tail of every commit is serialized store-wide. The clock lock is held for that
 * one statement plus the COMMIT's WAL flush (synchronous_commit=on), so the store commits at most
 * about one batch per (tail statement + fsync) however many nodes write; everything before the
 * tail (locking conversations, checks, inserts) runs concurrently. Group commit keeps that cheap
 * per message: under load each node's batch grows, and the tail's work grows with the rows it
 * stamps (events, conversations, and the member rows of each touched conversation: a group with
 * many members makes each of its batches stamp that many view rows). The alternative, positions
 * from a sequence exposed only below the oldest in-flight transaction (pg_current_snapshot()),
 * would let a single slow or idle-in-transaction session anywhere stall every resume and live
 * token, and needs a reader-side horizon on every read.
 */
export class PositionPlan {
  private count = 0;
  private readonly events: Array<{ c: string; s: number; o: number }> = [];
  /** In op order; a later entry for the same member wins (null: re-added, their view follows the conversation again). */
  private readonly removals: Array<{ c: string; u: string; o: number | null }> = [];
  /** Channel members whose own view moved (a cursor, say): their `user_channels.own_pos`. */
  private readonly channelViews: Array<{ c: string; u: string; o: number }> = [];

  /** The ordinal of the batch's next position-taking change. */
  next(): number {
    return ++this.count;
  }

  get size(): number {
    return this.count;
  }

  /** An event inserted with ordinal `ordinal` in place of its position. */
  stampEvent(conversationId: string, seq: number, ordinal: number): void {
    this.events.push({ c: conversationId, s: seq, o: ordinal });
  }

  /** A member whose view freezes at the change numbered `ordinal`, or (null) follows the conversation again. */
  freezeView(conversationId: string, userId: string, ordinal: number | null): void {
    this.removals.push({ c: conversationId, u: userId, o: ordinal });
  }

  /** A channel member whose own view (and nobody else's) moved with the change numbered `ordinal`. */
  stampChannelView(conversationId: string, userId: string, ordinal: number): void {
    this.channelViews.push({ c: conversationId, u: userId, o: ordinal });
  }

  /** What an op that fails must be able to take back: everything it numbered. */
  mark(): () => void {
    const [count, events, removals, channelViews] = [
      this.count,
      this.events.length,
      this.removals.length,
      this.channelViews.length,
    ];
    return () => {
      this.count = count;
      this.events.length = events;
      this.removals.length = removals;
      this.channelViews.length = channelViews;
    };
  }

  stampedChannelViews(): ReadonlyArray<{ c: string; u: string; o: number }> {
    return this.channelViews;
  }

  frozenViews(): Array<{ c: string; u: string; o: number }> {
    const last = new Map<string, { c: string; u: string; o: number | null }>();
    for (const r of this.removals) last.set(`${r.c}\n${r.u}`, r);
    return [...last.values()].flatMap((r) => (r.o === null ? [] : [{ c: r.c, u: r.u, o: r.o }]));
  }

  stampedEvents(): ReadonlyArray<{ c: string; s: number; o: number }> {
    return this.events;
  }
}

/** A conversation the batch changed, as it is written back at the tail. */
export interface ConversationWrite {
  id: string;
  title: string | null;
  last_seq: number;
  member_count: number;
  updated_at: number;
  /** Ordinal of its last position-taking change in the batch. */
  o: number;
  /** A channel: its members' rows in the per-user index are not stamped (it fans out on read). */
  channel: boolean;
}

/**
 * The tail of a batch: takes `plan.size` positions from the clock and stamps them, in one
 * statement, so the clock lock is held for as little as possible before COMMIT. Must be the last
 * statement of the transaction; the writer sends COMMIT right behind it, so the lock is held for
 * this statement and the commit's flush, with no round trip in between. The `user_conversations`
 * update reads members as this transaction sees them: current members follow their
 * conversation's new position, members removed in this batch freeze at their removal's. The
 * batch's last run of plain messages (`inserts`, see postgres-bulk-messages.ts) is inserted here,
 * with its positions, rather than inserted earlier and stamped here: one write per event instead
 * of an insert and an update. Resolves with the rows it inserted.
 */
export function assignPositions(
  tx: Tx,
  plan: PositionPlan,
  conversations: ConversationWrite[],
  inserts: RunEvent[] = [],
): Promise<EventRow[]> {
  if (plan.size === 0) return Promise.resolve([]);
  // Row sets travel as one JSON text parameter each (cast to text first, so the driver sends the
  // string as it is instead of encoding it again as a JSON string).
  const events = JSON.stringify(plan.stampedEvents());
  const touched = JSON.stringify(conversations);
  const indexed = JSON.stringify(conversations.filter((c) => !c.channel));
  const frozen = JSON.stringify(plan.frozenViews());
  const channelViews = plan.stampedChannelViews();
  // Only when there is something to stamp: an idle extra CTE made every large batch's tail slower.
  const stampChannelViews =
    channelViews.length === 0
      ? tx``
      : tx`, stamped_channel_views AS (
      UPDATE user_channels uc SET own_pos = clock.base + v.o
      FROM clock, jsonb_to_recordset(${JSON.stringify(channelViews)}::text::jsonb) AS v (c text, u text, o bigint)
      WHERE uc.user_id = v.u AND uc.conversation_id = v.c
    )`;
  // Messages inserted op by op got their index row (the search trigger) with the ordinal for a
  // position: it takes the real one here, or search's newest-first window would rank them oldest.
  const stampSearch =
    plan.stampedEvents().length === 0
      ? tx``
      : tx`, stamped_search AS (
      UPDATE message_search ms SET pos = clock.base + v.o
      FROM clock, jsonb_to_recordset(${events}::text::jsonb) AS v (c text, s bigint, o bigint)
      WHERE ms.conversation_id = v.c AND ms.seq = v.s
    )`;
  return tx<EventRow[]>`
    WITH clock AS (
      UPDATE change_clock SET position = position + ${plan.size} RETURNING position - ${plan.size} AS base
    ), stamped_events AS (
      UPDATE events e SET pos = clock.base + v.o
      FROM clock, jsonb_to_recordset(${events}::text::jsonb) AS v (c text, s bigint, o bigint)
      WHERE e.conversation_id = v.c AND e.seq = v.s
    ), stamped_conversations AS (
      UPDATE conversations c SET title = v.title, last_seq = v.last_seq, change_pos = clock.base + v.o,
        member_count = v.member_count, updated_at = v.updated_at
      FROM clock, jsonb_to_recordset(${touched}::text::jsonb)
        AS v (id text, title text, last_seq bigint, member_count integer, updated_at bigint, o bigint)
      WHERE c.id = v.id
    ), stamped_removals AS (
      UPDATE members m SET left_pos = clock.base + v.o
      FROM clock, jsonb_to_recordset(${frozen}::text::jsonb) AS v (c text, u text, o bigint)
      WHERE m.conversation_id = v.c AND m.user_id = v.u
    )${stampChannelViews}${stampSearch}, stamped_views AS (
      UPDATE user_conversations uc SET view_pos = clock.base + coalesce(f.o, v.o)
      FROM clock, jsonb_to_recordset(${indexed}::text::jsonb) AS v (id text, o bigint)
        JOIN members m ON m.conversation_id = v.id
        LEFT JOIN jsonb_to_recordset(${frozen}::text::jsonb) AS f (c text, u text, o bigint)
          ON f.c = m.conversation_id AND f.u = m.user_id
      WHERE (m.left_seq IS NULL OR f.o IS NOT NULL)
        AND uc.user_id = m.user_id AND uc.conversation_id = m.conversation_id
    )
    INSERT INTO events (conversation_id, seq, pos, kind, sender_id, device_id, client_msg_id, body, ref_seq,
      data, created_at)
    SELECT v.c, v.s, clock.base + v.o, 'message', v.sender_id, v.device_id, v.client_msg_id, v.body, v.ref_seq,
      v.data, v.created_at
    FROM clock, jsonb_to_recordset(${JSON.stringify(inserts)}::text::jsonb) AS v (c text, s bigint, o bigint,
      sender_id text, device_id text, client_msg_id text, body text, ref_seq bigint, data jsonb, created_at bigint)
    RETURNING *`.execute();
}
