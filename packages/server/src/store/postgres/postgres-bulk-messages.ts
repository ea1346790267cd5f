import { type ChatEvent, NatterError } from '@natter/protocol';
import { checkPosting } from '../channel-rules.js';
import { clampCursor } from '../cursor-rules.js';
import { appendedEvent } from '../log-events.js';
import type { ConversationRow, MemberRow } from '../log-rows.js';
import { requireCurrentMember } from '../membership-rules.js';
import type { AppendOp, CursorOp, WriteOp, WriteResult } from '../write-ops.js';
import { cursorOutcome, outcome } from '../write-outcomes.js';
import type { Tx } from './postgres-connection.js';
import type { PositionPlan } from './postgres-positions.js';
import { type EventRow, toChatEvent } from './postgres-rows.js';

/**
 * Plain messages and cursor moves in bulk: the ops of a batch that need nothing from the database
 * but a member row and the dedupe lookup (a message that is no reply, no thread reply and
 * mentions no one; a read or delivered report) are checked and written a run at a time, a few
 * statements per run however many ops it holds, instead of a few round trips per op.
 *
 * A run is checked exactly as the writer checks each op (a message: a duplicate first, then the
 * conversation, then the sender's membership; a cursor: the conversation, the membership, the
 * clamp), in op order, on the rows the run's two lookups return, kept up to date in memory as
 * the run moves cursors: the run's conversations are locked by the batch, so no other writer
 * changes their members meanwhile, and the run's own ops change no one's membership. An op the
 * rules refuse gets its error and changes nothing; a second message with the same client id in
 * one run is a duplicate of the first. The statements that write a run cannot be refused one op
 * at a time: if the database refuses one (data it cannot store), the writer rolls the whole batch
 * back and commits it again op by op (see PostgresLogWriter.commit).
 */
export type BulkOp = AppendOp | CursorOp;

export function isBulkOp(op: WriteOp): op is BulkOp {
  return op.kind === 'cursor' || isPlainMessage(op);
}

export function isPlainMessage(op: WriteOp): op is AppendOp {
  return (
    op.kind === 'append' &&
    op.eventKind === 'message' &&
    op.threadRoot === undefined &&
    op.replyTo === undefined &&
    (op.mentions === undefined || op.mentions.length === 0) &&
    // PostgreSQL text holds no NUL: such a body is refused by its own op, not by its run.
    !op.body?.includes('\0')
  );
}

/** A conversation the batch locked, as the writer tracks it. */
export interface LockedConversation {
  row: ConversationRow;
  dirty: boolean;
  lastChange: number;
}

/** What the run's checks read: the original of each message already stored, each op's member row. */
export interface RunRows {
  originals: Map<string, EventRow>;
  members: Map<string, MemberRow>;
}

/** An event a run inserts: its position is the batch's ordinal `o` until the tail stamps it. */
export interface RunEvent {
  c: string;
  s: number;
  o: number;
  sender_id: string;
  device_id: string | null;
  client_msg_id: string;
  body: string | null;
  ref_seq: number | null;
  data: ChatEvent['data'];
  created_at: number;
}

/** A checked run: its results (an accepted message's event is filled in from its inserted row). */
export interface PlannedRun {
  /** By index into the run's ops. */
  results: Array<WriteResult | null>;
  /** The accepted messages' rows, and the index of each one's op. */
  events: RunEvent[];
  eventOps: number[];
  /** Duplicates within the run: op index, and the index of the op whose event it repeats. */
  repeats: Array<[number, number]>;
  /** The members whose cursors the run moved (a message moves its sender's), and where to. */
  cursors: Array<{ c: string; u: string; r: number; d: number }>;
  /** The channels among the run's conversations: their outcomes say so (see WriteOutcome.channel). */
  channels: Set<string>;
}

const originalKey = (c: string, s: string, m: string) => `${c}\n${s}\n${m}`;
const memberKey = (c: string, u: string) => `${c}\n${u}`;

/**
 * Sends the run's two lookups now (they run in order after whatever was sent before them on the
 * connection, so they see the batch's locks and earlier writes) and resolves with their rows.
 */
export function readRun(tx: Tx, ops: BulkOp[]): Promise<RunRows> {
  if (ops.length === 0) return Promise.resolve({ originals: new Map(), members: new Map() });
  const pairs = new Map<string, [string, string]>();
  for (const op of ops) {
    const userId = op.kind === 'append' ? op.senderId : op.userId;
    pairs.set(memberKey(op.conversationId, userId), [op.conversationId, userId]);
  }
  const messages = ops.filter((op) => op.kind === 'append');
  const originals = tx<EventRow[]>`
    SELECT e.* FROM unnest(${messages.map((o) => o.conversationId)}::text[],
      ${messages.map((o) => o.senderId)}::text[], ${messages.map((o) => o.clientMsgId)}::text[]) AS k (c, s, m)
    JOIN events e ON e.conversation_id = k.c AND e.sender_id = k.s AND e.client_msg_id = k.m
      AND e.client_msg_id IS NOT NULL`.execute();
  const members = tx<MemberRow[]>`
    SELECT m.* FROM unnest(${[...pairs.values()].map((p) => p[0])}::text[],
      ${[...pairs.values()].map((p) => p[1])}::text[]) AS k (c, u)
    JOIN members m ON m.conversation_id = k.c AND m.user_id = k.u`.execute();
  return Promise.allSettled([originals, members]).then(([o, m]) => {
    // The first statement's failure is the one to report (the second is refused after it).
    if (o.status === 'rejected') throw o.reason;
    if (m.status === 'rejected') throw m.reason;
    return {
      originals: new Map(
        o.value.map((e) => [originalKey(e.conversation_id, e.sender_id, e.client_msg_id!), e]),
      ),
      members: new Map(m.value.map((row) => [memberKey(row.conversation_id, row.user_id), row])),
    };
  });
}

/**
 * Checks the run's ops in op order and moves the batch's state as the writer does for each op
 * (seq, activity, ordinal), without touching the database.
 */
export function planRun(
  ops: BulkOp[],
  rows: RunRows,
  conversation: (id: string) => LockedConversation | undefined,
  positions: PositionPlan,
  now: number,
): PlannedRun {
  const planned: PlannedRun = {
    results: [],
    events: [],
    eventOps: [],
    repeats: [],
    cursors: [],
    channels: new Set(),
  };
  const accepted = new Map<string, number>();
  /** The member rows the run moved, as they now stand. */
  const moved = new Map<string, MemberRow>();
  const memberOf = (c: string, u: string) => {
    const key = memberKey(c, u);
    return moved.get(key) ?? rows.members.get(key);
  };
  const move = (row: MemberRow, readSeq: number, deliveredSeq: number) =>
    moved.set(memberKey(row.conversation_id, row.user_id), {
      ...row,
      read_seq: readSeq,
      delivered_seq: deliveredSeq,
    });
  for (const [i, op] of ops.entries()) {
    const id = op.conversationId;
    if (conversation(id)?.row.kind === 'channel') planned.channels.add(id);
    if (op.kind === 'cursor') {
      try {
        const state = conversation(id);
        if (!state) throw new NatterError('not_found');
        const current = requireCurrentMember(memberOf(id, op.userId));
        const cursors = clampCursor(current, op.delivered, op.read, state.row.last_seq);
        if (!cursors) {
          planned.results.push({ ok: true, value: outcome(id, []) });
          continue;
        }
        move(current, cursors.readSeq, cursors.deliveredSeq);
        // One member's view moved: a group's position moves (everyone sees its receipts); a
        // channel shows no one else's, so only the member's own channel row is stamped.
        const ordinal = positions.next();
        if (state.row.kind === 'channel') {
          positions.stampChannelView(id, op.userId, ordinal);
        } else {
          state.lastChange = ordinal;
          state.dirty = true;
        }
        planned.results.push({ ok: true, value: cursorOutcome(id, op.userId, cursors) });
      } catch (error) {
        if (!(error instanceof NatterError)) throw error;
        planned.results.push({ ok: false, error });
      }
      continue;
    }
    const key = originalKey(id, op.senderId, op.clientMsgId);
    const original = rows.originals.get(key);
    if (original) {
      planned.results.push({ ok: true, value: outcome(id, [toChatEvent(original)], true) });
      continue;
    }
    const first = accepted.get(key);
    if (first !== undefined) {
      planned.results.push(null);
      planned.repeats.push([i, first]);
      continue;
    }
    try {
      const state = conversation(id);
      if (!state) throw new NatterError('not_found');
      const sender = requireCurrentMember(memberOf(id, op.senderId));
      checkPosting(state.row, sender, op.eventKind);
      const e = appendedEvent(op);
      const ordinal = positions.next();
      const seq = state.row.last_seq + 1;
      state.row.last_seq = seq;
      state.row.updated_at = now;
      state.lastChange = ordinal;
      state.dirty = true;
      planned.events.push({
        c: id,
        s: seq,
        o: ordinal,
        sender_id: op.senderId,
        device_id: e.deviceId ?? null,
        client_msg_id: op.clientMsgId,
        body: e.body ?? null,
        ref_seq: e.refSeq ?? null,
        data: e.data ?? null,
        created_at: now,
      });
      planned.eventOps.push(i);
      planned.results.push(null);
      accepted.set(key, i);
      // A message shows its sender has read up to it (see movesSenderCursors).
      move(sender, Math.max(sender.read_seq, seq), Math.max(sender.delivered_seq, seq));
    } catch (error) {
      if (!(error instanceof NatterError)) throw error;
      planned.results.push({ ok: false, error });
    }
  }
  planned.cursors = [...moved.values()].map((m) => ({
    c: m.conversation_id,
    u: m.user_id,
    r: m.read_seq,
    d: m.delivered_seq,
  }));
  return planned;
}

/** The results of a planned run, given its inserted rows. */
export function finishRun(planned: PlannedRun, inserted: EventRow[]): WriteResult[] {
  const byKey = new Map(inserted.map((r) => [`${r.conversation_id}\n${r.seq}`, r]));
  const results = [...planned.results];
  for (const [k, e] of planned.events.entries()) {
    const row = byKey.get(`${e.c}\n${e.s}`);
    if (!row) throw new Error(`The bulk insert did not return event ${e.s} of ${e.c}.`);
    results[planned.eventOps[k]!] = { ok: true, value: outcome(e.c, [toChatEvent(row)]) };
  }
  for (const [i, first] of planned.repeats) {
    const value = results[first];
    if (!value?.ok) throw new Error('A repeated message has no accepted original.');
    results[i] = { ok: true, value: { ...value.value, duplicate: true } };
  }
  for (const result of results) {
    if (result?.ok && planned.channels.has(result.value.conversationId)) result.value.channel = true;
  }
  return results as WriteResult[];
}

/**
 * Sends the run's cursor moves now, as absolute values: the run's conversations are locked by
 * the batch, so the rows it read are still the rows in the database.
 */
export function moveCursors(tx: Tx, planned: PlannedRun): Promise<unknown> {
  if (planned.cursors.length === 0) return Promise.resolve();
  return tx`
    UPDATE members m SET read_seq = v.r, delivered_seq = v.d
    FROM jsonb_to_recordset(${JSON.stringify(planned.cursors)}::text::jsonb) AS v (c text, u text, r bigint, d bigint)
    WHERE m.conversation_id = v.c AND m.user_id = v.u`.execute();
}

/**
 * Inserts a run's events now, each with its ordinal for a position (the batch's tail stamps them,
 * see postgres-positions.ts): for a run that ops after it in the batch must see. The batch's last
 * run is inserted by the tail itself, with its positions.
 */
export function insertRun(tx: Tx, planned: PlannedRun, positions: PositionPlan): Promise<EventRow[]> {
  if (planned.events.length === 0) return Promise.resolve([]);
  for (const e of planned.events) positions.stampEvent(e.c, e.s, e.o);
  return tx<EventRow[]>`
    INSERT INTO events (conversation_id, seq, pos, kind, sender_id, device_id, client_msg_id, body, ref_seq,
      data, created_at)
    SELECT v.c, v.s, v.o, 'message', v.sender_id, v.device_id, v.client_msg_id, v.body, v.ref_seq, v.data,
      v.created_at
    FROM jsonb_to_recordset(${JSON.stringify(planned.events)}::text::jsonb) AS v (c text, s bigint, o bigint,
      sender_id text, device_id text, client_msg_id text, body text, ref_seq bigint, data jsonb, created_at bigint)
    RETURNING *`.execute();
}
