import { type ChatEvent, NatterError } from '@natter/protocol';
import { appendedEvent } from '../log-events.js';
import type { ConversationRow, MemberRow } from '../log-rows.js';
import { requireCurrentMember } from '../membership-rules.js';
import type { AppendOp, WriteOp, WriteResult } from '../write-ops.js';
import { outcome } from '../write-outcomes.js';
import type { Tx } from './postgres-connection.js';
import type { PositionPlan } from './postgres-positions.js';
import { type EventRow, toChatEvent } from './postgres-rows.js';

/**
 * Plain messages in bulk: the ops of a batch that need nothing from the database but their
 * sender's member row and the dedupe lookup (a message that is no reply, no thread reply and
 * mentions no one) are checked and written a run at a time, a few statements per run however
 * many messages it holds, instead of a few round trips per message.
 *
 * A run is checked exactly as the writer checks one message (a duplicate first, then the
 * conversation, then the sender's membership), in op order, on the rows the run's two lookups
 * return: the run's conversations are locked by the batch, and its own messages cannot change
 * anyone's membership, so those rows stay true for the whole run. A message the rules refuse
 * gets its error and changes nothing; a second message with the same client id in one run is a
 * duplicate of the first. The statements that write a run cannot be refused one op at a time:
 * if the database refuses one (data it cannot store), the writer rolls the whole batch back and
 * commits it again op by op (see PostgresLogWriter.commit).
 */
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

/** What the run's checks read: the original of each message already stored, each sender's member row. */
export interface RunRows {
  originals: Map<string, EventRow>;
  senders: Map<string, MemberRow>;
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
  /** Each sender's new read and delivered cursor (the seq of their last message in the run). */
  cursors: Array<{ c: string; u: string; s: number }>;
}

const originalKey = (c: string, s: string, m: string) => `${c}\n${s}\n${m}`;
const memberKey = (c: string, u: string) => `${c}\n${u}`;

/**
 * Sends the run's two lookups now (they run in order after whatever was sent before them on the
 * connection, so they see the batch's locks and earlier writes) and resolves with their rows.
 */
export function readRun(tx: Tx, ops: AppendOp[]): Promise<RunRows> {
  if (ops.length === 0) return Promise.resolve({ originals: new Map(), senders: new Map() });
  const pairs = new Map<string, [string, string]>();
  for (const op of ops)
    pairs.set(memberKey(op.conversationId, op.senderId), [op.conversationId, op.senderId]);
  const originals = tx<EventRow[]>`
    SELECT e.* FROM unnest(${ops.map((o) => o.conversationId)}::text[], ${ops.map((o) => o.senderId)}::text[],
      ${ops.map((o) => o.clientMsgId)}::text[]) AS k (c, s, m)
    JOIN events e ON e.conversation_id = k.c AND e.sender_id = k.s AND e.client_msg_id = k.m
      AND e.client_msg_id IS NOT NULL`.execute();
  const senders = tx<MemberRow[]>`
    SELECT m.* FROM unnest(${[...pairs.values()].map((p) => p[0])}::text[],
      ${[...pairs.values()].map((p) => p[1])}::text[]) AS k (c, u)
    JOIN members m ON m.conversation_id = k.c AND m.user_id = k.u`.execute();
  return Promise.allSettled([originals, senders]).then(([o, s]) => {
    // The first statement's failure is the one to report (the second is refused after it).
    if (o.status === 'rejected') throw o.reason;
    if (s.status === 'rejected') throw s.reason;
    return {
      originals: new Map(
        o.value.map((e) => [originalKey(e.conversation_id, e.sender_id, e.client_msg_id!), e]),
      ),
      senders: new Map(s.value.map((m) => [memberKey(m.conversation_id, m.user_id), m])),
    };
  });
}

/**
 * Checks the run's messages in op order and moves the batch's state as the writer's appendEvent
 * does (seq, activity, ordinal), without touching the database.
 */
export function planRun(
  ops: AppendOp[],
  rows: RunRows,
  conversation: (id: string) => LockedConversation | undefined,
  positions: PositionPlan,
  now: number,
): PlannedRun {
  const planned: PlannedRun = { results: [], events: [], eventOps: [], repeats: [], cursors: [] };
  const accepted = new Map<string, number>();
  const cursors = new Map<string, { c: string; u: string; s: number }>();
  for (const [i, op] of ops.entries()) {
    const id = op.conversationId;
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
      requireCurrentMember(rows.senders.get(memberKey(id, op.senderId)));
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
      cursors.set(memberKey(id, op.senderId), { c: id, u: op.senderId, s: seq });
    } catch (error) {
      if (!(error instanceof NatterError)) throw error;
      planned.results.push({ ok: false, error });
    }
  }
  planned.cursors = [...cursors.values()];
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
  return results as WriteResult[];
}

/**
 * Sends the senders' cursor moves now: a message shows its sender has read up to it. Their
 * conversations are locked by the batch, so no other writer moves these rows meanwhile.
 */
export function moveSenderCursors(tx: Tx, planned: PlannedRun): Promise<unknown> {
  if (planned.cursors.length === 0) return Promise.resolve();
  return tx`
    UPDATE members m SET read_seq = greatest(m.read_seq, v.s), delivered_seq = greatest(m.delivered_seq, v.s)
    FROM jsonb_to_recordset(${JSON.stringify(planned.cursors)}::text::jsonb) AS v (c text, u text, s bigint)
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
