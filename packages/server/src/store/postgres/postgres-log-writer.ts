import {
  type ChatEvent,
  type ConversationKind,
  NatterError,
  type PostingPolicy,
  type Role,
} from '@natter/protocol';
import postgres from 'postgres';
import { type Clock, systemClock } from '../../clock.js';
import { checkAmend } from '../amend-rules.js';
import {
  checkGroupMentions,
  checkMentions,
  checkNewEmoji,
  checkPinner,
  checkPinRoom,
  checkTarget,
  mentionedUsers,
  quoteOf,
} from '../annotation-rules.js';
import { checkPosting, checkPostingChange, postingChangedEvent } from '../channel-rules.js';
import { directKeyOf, newConversationId } from '../conversation-ids.js';
import { clampCursor } from '../cursor-rules.js';
import {
  appendedEvent,
  createdEvent,
  type Derived,
  departureEvent,
  memberAddedEvent,
  movesActivity,
  movesSenderCursors,
  type NewEvent,
  renamedEvent,
  roleChangedEvent,
  settingsChangedEvent,
} from '../log-events.js';
import type { ConversationRow, MemberRow } from '../log-rows.js';
import {
  checkManager,
  checkRemoval,
  checkRoleChange,
  foundingMembers,
  type NewMember,
  requireCurrentMember,
  requireFormerMember,
  type SuccessorCandidate,
  successorOf,
} from '../membership-rules.js';
import { checkThreadRoot, movedThreadCursor, nextParticipants, type ThreadRow } from '../thread-rules.js';
import type {
  AppendOp,
  CursorOp,
  HideOp,
  NotificationsOp,
  ThreadReadOp,
  WriteOp,
  WriteOutcome,
  WriteResult,
} from '../write-ops.js';
import { cursorOutcome, outcome } from '../write-outcomes.js';
import {
  type BulkOp,
  finishRun,
  insertRun,
  isBulkOp,
  moveCursors,
  type PlannedRun,
  planRun,
  type RunRows,
  readRun,
} from './postgres-bulk-messages.js';
import type { Tx } from './postgres-connection.js';
import { isConnectionFailure, opErrorOf } from './postgres-errors.js';
import { type PostgresPool, RolledBack } from './postgres-pool.js';
import { assignPositions, type ConversationWrite, PositionPlan } from './postgres-positions.js';
import { type EventRow, toChatEvent } from './postgres-rows.js';

interface ConversationState {
  row: ConversationRow;
  dirty: boolean;
  /** Ordinal (see PositionPlan) of the batch's last position-taking change in this conversation. */
  lastChange: number;
}

/** The state of one batch's transaction. */
interface Batch {
  tx: Tx;
  conversations: Map<string, ConversationState>;
  positions: PositionPlan;
  /** Conversations created by this batch, in order (a failed op's are forgotten again). */
  created: string[];
  /** The last op's RELEASE SAVEPOINT, sent ahead and confirmed with the next statements awaited. */
  released: Promise<unknown>;
  now: number;
}

/**
 * Longest a commit batch may take: a base plus a little per op (the pool's general limit is longer,
 * for reads such as a search). A batch takes milliseconds, a full one (1,000 ops) a second or two on
 * a busy machine; one that hangs is the driver dropping a query on a connection that reconnects
 * (see postgres-pool.ts), and since commits run one at a time it holds every send and the drain
 * behind it: the fault pass saw a node's drain outlast its 10 s budget waiting for one.
 */
function commitTimeoutMs(ops: number): number {
  return 2_000 + 8 * ops;
}

/**
 * Applies one batch of ops in one READ COMMITTED transaction, with the same rules as the embedded
 * writer. Concurrency with other nodes comes from row locks, not from isolation level:
 * - every existing conversation the batch names is locked (FOR UPDATE) up front, in id order, so
 *   two batches never deadlock on each other's conversations; while a batch holds a conversation,
 *   no other transaction writes its seq, members or events, and each later statement here sees the
 *   latest committed state, so checks (membership, roles, dedupe) cannot race the writes they guard;
 * - seqs are last_seq + 1 under that lock: gap-free and in commit order per conversation;
 * - store-wide positions are taken last (see postgres-positions.ts).
 * Runs of plain messages and cursor moves are checked in memory and written a run at a time (see
 * postgres-bulk-messages.ts); every other op runs in a savepoint: one the database refuses is
 * rolled back alone and the rest of the batch commits. (Every op that writes takes a subtransaction id; past 64 in one transaction
 * PostgreSQL's per-backend subtransaction cache overflows, which makes other sessions' visibility
 * checks slower while that transaction runs. A batch lives for milliseconds, so this costs little,
 * but it is the reason not to keep a transaction like this open any longer than a batch.)
 */
export class PostgresLogWriter {
  constructor(
    private readonly pool: PostgresPool,
    /** Stamps the events of each commit. */
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * Runs of plain messages and cursor moves go in bulk (see postgres-bulk-messages.ts); a batch
   * the database refuses a bulk statement of is rolled back and committed again with every op on
   * its own.
   */
  async commit(ops: WriteOp[]): Promise<WriteResult[]> {
    if (!ops.some(isBulkOp)) return this.attempt(ops, false);
    try {
      return await this.attempt(ops, true);
    } catch (error) {
      if (
        isConnectionFailure(error) ||
        !(error instanceof postgres.PostgresError || error instanceof RolledBack)
      ) {
        throw error;
      }
      return this.attempt(ops, false);
    }
  }

  /**
   * One transaction: the locks and the first run's lookups in one round trip, the ops in order,
   * then the tail with COMMIT right behind it. A batch of plain messages and cursor moves takes
   * two round trips.
   */
  private async attempt(ops: WriteOp[], bulk: boolean): Promise<WriteResult[]> {
    let tail: Promise<EventRow[]> | undefined;
    let last: PlannedRun | undefined;
    let results: WriteResult[];
    try {
      results = await this.pool.transaction(
        'ISOLATION LEVEL READ COMMITTED',
        async (tx) => {
          const inBulk = (op: WriteOp | undefined): op is BulkOp => bulk && op !== undefined && isBulkOp(op);
          let run: BulkOp[] = [];
          while (inBulk(ops[run.length])) run.push(ops[run.length] as BulkOp);
          const [conversations, runRows] = await pipelined(lockConversations(tx, ops), readRun(tx, run));
          const batch: Batch = {
            tx,
            conversations,
            positions: new PositionPlan(),
            created: [],
            released: Promise.resolve(),
            now: this.clock.now(),
          };
          const plan = (rows: RunRows) =>
            planRun(run, rows, (id) => batch.conversations.get(id), batch.positions, batch.now);
          const results: WriteResult[] = [];
          for (let i = run.length; i < ops.length; i++) {
            const op = ops[i]!;
            if (inBulk(op)) {
              run.push(op);
              continue;
            }
            if (run.length > 0) {
              // The run goes in before the op after it, which must see its messages.
              await batch.released;
              const planned = plan(i === run.length ? runRows : await readRun(tx, run));
              const [inserted] = await pipelined(
                insertRun(tx, planned, batch.positions),
                moveCursors(tx, planned),
              );
              results.push(...finishRun(planned, inserted));
              run = [];
            }
            results.push(await this.applyInSavepoint(op, batch));
          }
          await batch.released;
          if (run.length > 0) last = plan(run.length === ops.length ? runRows : await readRun(tx, run));
          const moved = last ? moveCursors(tx, last) : Promise.resolve();
          const touched: ConversationWrite[] = [];
          for (const { row, dirty, lastChange } of batch.conversations.values()) {
            if (!dirty) continue;
            const { id, title, last_seq, member_count, updated_at } = row;
            touched.push({
              id,
              title,
              last_seq,
              member_count,
              updated_at,
              o: lastChange,
              channel: row.kind === 'channel',
            });
          }
          // Not awaited: the pool sends COMMIT right behind it (see assignPositions).
          tail = pipelined(moved, assignPositions(tx, batch.positions, touched, last?.events)).then(
            ([, inserted]) => inserted,
          );
          tail.catch(() => {});
          return results;
        },
        commitTimeoutMs(ops.length),
      );
    } catch (error) {
      // A COMMIT that rolled back did so because the tail failed: that failure is the one to report.
      if (error instanceof RolledBack && tail) await tail;
      throw error;
    }
    if (last) results.push(...finishRun(last, await tail!));
    return results;
  }

  /**
   * A connection failure fails the whole batch at once, with no further statement on that
   * connection; anything else the op hit is rolled back to its savepoint and becomes its result.
   */
  private async applyInSavepoint(op: WriteOp, batch: Batch): Promise<WriteResult> {
    const { tx } = batch;
    const restore = this.mark(op, batch);
    // The savepoint goes out just ahead of the op's first statement, with no round trip of its
    // own; its outcome (and the previous op's release) is looked at once the op's statements are back.
    const opened = Promise.all([batch.released, sendAhead(tx`SAVEPOINT op`)]);
    try {
      const value = await this.apply(op, batch);
      if (batch.conversations.get(value.conversationId)?.row.kind === 'channel') value.channel = true;
      await opened;
      batch.released = sendAhead(tx`RELEASE SAVEPOINT op`);
      return { ok: true, value };
    } catch (error) {
      await opened;
      if (isConnectionFailure(error)) throw error;
      await tx.unsafe('ROLLBACK TO SAVEPOINT op; RELEASE SAVEPOINT op');
      restore();
      if (error instanceof NatterError) return { ok: false, error };
      if (error instanceof postgres.PostgresError) return { ok: false, error: opErrorOf(error) };
      throw error;
    }
  }

  /** Undoes, in memory, what a failed op did to the batch (its savepoint undoes it in the database). */
  private mark(op: WriteOp, batch: Batch): () => void {
    const restorePositions = batch.positions.mark();
    const id = 'conversationId' in op ? op.conversationId : null;
    const state = id === null ? undefined : batch.conversations.get(id);
    const saved = state && { row: { ...state.row }, dirty: state.dirty, lastChange: state.lastChange };
    const created = batch.created.length;
    return () => {
      restorePositions();
      if (state && saved) Object.assign(state, saved);
      for (const key of batch.created.splice(created)) batch.conversations.delete(key);
    };
  }

  private async apply(op: WriteOp, batch: Batch): Promise<WriteOutcome> {
    const { tx } = batch;
    switch (op.kind) {
      case 'append':
        return this.append(op, batch);
      case 'cursor':
        return this.moveCursor(op, batch);
      case 'notifications':
        return this.setNotifications(op, batch);
      case 'thread_read':
        return this.moveThreadCursor(op, batch);
      case 'hide':
        return this.hide(op, batch);
      case 'create_direct':
        return this.createDirect(op.userId, op.peerId, batch);
      case 'create_group':
        return this.createGroup(op.creatorId, op.title, op.memberIds, batch);
      case 'create_channel': {
        const members = foundingMembers('channel', op.creatorId, op.memberIds);
        const id = newConversationId();
        const event = await this.newConversation(
          id,
          'channel',
          op.title,
          op.creatorId,
          members,
          batch,
          op.posting,
        );
        return outcome(id, [event]);
      }
      case 'posting': {
        const state = await this.conversationForManager(op.conversationId, op.actorId, batch);
        checkPostingChange(state.row.kind);
        if (state.row.posting === op.policy) return outcome(op.conversationId, [], true);
        const [event] = await pipelined(
          this.appendEvent(state, batch, postingChangedEvent(op.actorId, op.policy)),
          tx`UPDATE conversations SET posting = ${op.policy} WHERE id = ${op.conversationId}`,
        );
        state.row.posting = op.policy;
        return outcome(op.conversationId, [event]);
      }
      case 'add_member': {
        const state = await this.conversationForManager(op.conversationId, op.actorId, batch);
        const existing = await member(tx, op.conversationId, op.userId);
        if (existing && existing.left_seq === null) return outcome(op.conversationId, [], true);
        const event = await this.appendEvent(state, batch, memberAddedEvent(op.actorId, op.userId, op.role));
        await this.addMembers(state, [{ userId: op.userId, role: op.role }], event.seq, batch);
        return outcome(op.conversationId, [event]);
      }
      case 'remove_member':
        return this.removeMember(op.actorId, op.conversationId, op.userId, batch);
      case 'set_role': {
        const state = conversation(op.conversationId, batch);
        const [actor, target, owners] = await pipelined(
          member(tx, op.conversationId, op.actorId),
          member(tx, op.conversationId, op.userId),
          otherOwners(tx, op.conversationId, op.userId),
        );
        if (!checkRoleChange(state.row.kind, actor, target, op.role, owners)) {
          return outcome(op.conversationId, [], true);
        }
        const event = await this.appendEvent(state, batch, roleChangedEvent(op.actorId, op.userId, op.role));
        await setRole(tx, op.conversationId, op.userId, op.role);
        return outcome(op.conversationId, [event]);
      }
      case 'group_mentions': {
        const state = await this.conversationForManager(op.conversationId, op.actorId, batch);
        if (state.row.group_mentions === op.policy) return outcome(op.conversationId, [], true);
        const [event] = await pipelined(
          this.appendEvent(state, batch, settingsChangedEvent(op.actorId, op.policy)),
          tx`UPDATE conversations SET group_mentions = ${op.policy} WHERE id = ${op.conversationId}`,
        );
        state.row.group_mentions = op.policy;
        return outcome(op.conversationId, [event]);
      }
      case 'rename': {
        const state = await this.conversationForManager(op.conversationId, op.actorId, batch);
        const event = await this.appendEvent(state, batch, renamedEvent(op.actorId, op.title));
        state.row.title = op.title;
        return outcome(op.conversationId, [event]);
      }
    }
  }

  private async append(op: AppendOp, batch: Batch): Promise<WriteOutcome> {
    const { tx } = batch;
    const { conversationId: id } = op;
    const targetSeq = op.eventKind === 'message' ? op.replyTo : op.refSeq;
    const [[original], sender, [target]] = await pipelined(
      tx<EventRow[]>`
        SELECT * FROM events
        WHERE conversation_id = ${id} AND sender_id = ${op.senderId} AND client_msg_id = ${op.clientMsgId}`,
      member(tx, id, op.senderId),
      targetSeq === undefined || targetSeq === null
        ? Promise.resolve([])
        : tx<EventRow[]>`SELECT * FROM events WHERE conversation_id = ${id} AND seq = ${targetSeq}`,
    );
    if (original) return outcome(id, [toChatEvent(original)], true);
    const state = conversation(id, batch);
    const current = requireCurrentMember(sender);
    checkPosting(state.row, current, op.eventKind);
    const derived = await this.check(op, state, current, target && toChatEvent(target), tx);
    const seq = state.row.last_seq + 1;
    const [event] = await pipelined(
      this.appendEvent(state, batch, appendedEvent(op, derived)),
      movesSenderCursors(op)
        ? tx`UPDATE members SET read_seq = greatest(read_seq, ${seq}), delivered_seq = greatest(delivered_seq, ${seq})
            WHERE conversation_id = ${id} AND user_id = ${op.senderId}`
        : Promise.resolve(null),
    );
    await this.applyEffects(op, event, tx);
    return outcome(id, [event]);
  }

  /** The rules each kind of appended event must pass, and what the event derives from the log. */
  private async check(
    op: AppendOp,
    state: ConversationState,
    sender: MemberRow,
    target: ChatEvent | undefined,
    tx: Tx,
  ): Promise<Derived> {
    const id = op.conversationId;
    switch (op.eventKind) {
      case 'edit':
      case 'delete':
        checkAmend(op.eventKind, state.row.kind, sender, target);
        return {};
      case 'message': {
        const derived: Derived = {};
        if (op.mentions && op.mentions.length > 0) {
          const users = mentionedUsers(op.mentions);
          const members = await tx<{ user_id: string }[]>`
            SELECT user_id FROM members WHERE conversation_id = ${id} AND left_seq IS NULL
              AND user_id = ANY(${users}::text[])`;
          checkMentions(op.mentions, new Set(members.map((m) => m.user_id)));
          checkGroupMentions(op.mentions, state.row, sender);
        }
        if (op.threadRoot !== undefined) {
          const [[root], [thread]] = await pipelined(
            tx<EventRow[]>`SELECT * FROM events WHERE conversation_id = ${id} AND seq = ${op.threadRoot}`,
            tx<{ reply_count: number }[]>`
              SELECT reply_count FROM threads WHERE conversation_id = ${id} AND root_seq = ${op.threadRoot}`,
          );
          checkThreadRoot(sender, root && toChatEvent(root));
          derived.thread = { root_seq: op.threadRoot, seq: (thread?.reply_count ?? 0) + 1 };
        }
        if (op.replyTo !== undefined) {
          checkTarget(sender, target);
          const [edit] = await tx<{ body: string | null }[]>`
            SELECT body FROM events WHERE conversation_id = ${id} AND kind = 'edit' AND ref_seq = ${target.seq}
            ORDER BY seq DESC LIMIT 1`;
          derived.quote = quoteOf(target, edit ? edit.body : target.body);
        }
        return derived;
      }
      case 'reaction': {
        checkTarget(sender, target);
        const { emoji, action } = op.reaction!;
        const [[row], [mine], [onMessage]] = await pipelined(
          tx<{ count: number }[]>`SELECT count FROM reaction_counts
            WHERE conversation_id = ${id} AND target_seq = ${target.seq} AND emoji = ${emoji}`,
          tx<{ one: number }[]>`SELECT 1 AS one FROM reactions WHERE conversation_id = ${id}
            AND target_seq = ${target.seq} AND emoji = ${emoji} AND user_id = ${op.senderId}`,
          tx<{ n: number }[]>`SELECT count(*)::integer AS n FROM reaction_counts
            WHERE conversation_id = ${id} AND target_seq = ${target.seq} AND count > 0`,
        );
        const count = row?.count ?? 0;
        if (action === 'add' && !mine && count === 0) checkNewEmoji(onMessage!.n);
        return { count: action === 'add' ? count + (mine ? 0 : 1) : count - (mine ? 1 : 0) };
      }
      case 'pinned':
      case 'unpinned': {
        checkTarget(sender, target);
        checkPinner(state.row.kind, sender);
        if (op.eventKind === 'unpinned') return {};
        const [[pins], [already]] = await pipelined(
          tx<{ n: number }[]>`SELECT count(*)::integer AS n FROM pins WHERE conversation_id = ${id}`,
          tx<
            { one: number }[]
          >`SELECT 1 AS one FROM pins WHERE conversation_id = ${id} AND target_seq = ${target.seq}`,
        );
        checkPinRoom(pins!.n, already !== undefined);
        return {};
      }
    }
  }

  /** What an appended event changes besides the log: the wiped message, mentions, reactions, pins. */
  private async applyEffects(op: AppendOp, event: ChatEvent, tx: Tx): Promise<void> {
    const id = op.conversationId;
    const target = op.refSeq!;
    switch (op.eventKind) {
      case 'delete':
        await pipelined(
          // A deleted reply in a thread keeps its place there (data.thread), and nothing else.
          tx`UPDATE events SET body = NULL, deleted = true, data = CASE WHEN thread_root IS NULL THEN NULL
              ELSE jsonb_build_object('thread', jsonb_build_object('root_seq', thread_root, 'seq', thread_seq)) END
            WHERE conversation_id = ${id} AND (seq = ${target} OR (kind = 'edit' AND ref_seq = ${target}))`,
          tx`UPDATE events SET data = jsonb_set(jsonb_set(data, '{reply_to,body}', 'null'), '{reply_to,deleted}', 'true')
            WHERE conversation_id = ${id} AND reply_seq = ${target} AND data IS NOT NULL AND NOT deleted`,
          tx`DELETE FROM reactions WHERE conversation_id = ${id} AND target_seq = ${target}`,
          tx`DELETE FROM reaction_counts WHERE conversation_id = ${id} AND target_seq = ${target}`,
          tx`DELETE FROM mentions WHERE conversation_id = ${id} AND seq = ${target}`,
          tx`DELETE FROM pins WHERE conversation_id = ${id} AND target_seq = ${target}`,
        );
        return;
      case 'message': {
        const users = op.mentions ?? [];
        await pipelined(
          users.length === 0
            ? Promise.resolve(null)
            : tx`INSERT INTO mentions (conversation_id, user_id, seq, sender_id)
                SELECT ${id}, u, ${event.seq}, ${op.senderId} FROM unnest(${users}::text[]) AS u`,
          event.data?.thread ? this.addThreadReply(event, tx) : Promise.resolve(null),
        );
        return;
      }
      case 'reaction': {
        const { emoji, action } = op.reaction!;
        const count = event.data?.count ?? 0;
        await pipelined(
          action === 'add'
            ? tx`INSERT INTO reactions (conversation_id, target_seq, emoji, user_id)
                VALUES (${id}, ${target}, ${emoji}, ${op.senderId}) ON CONFLICT DO NOTHING`
            : tx`DELETE FROM reactions WHERE conversation_id = ${id} AND target_seq = ${target}
                AND emoji = ${emoji} AND user_id = ${op.senderId}`,
          // A remove of an emoji the message never had leaves no row behind (it may leave as_of alone).
          count === 0
            ? tx`UPDATE reaction_counts SET count = 0, last_seq = ${event.seq}
                WHERE conversation_id = ${id} AND target_seq = ${target} AND emoji = ${emoji}`
            : tx`INSERT INTO reaction_counts (conversation_id, target_seq, emoji, count, first_seq, last_seq)
                VALUES (${id}, ${target}, ${emoji}, ${count}, ${event.seq}, ${event.seq})
                ON CONFLICT (conversation_id, target_seq, emoji) DO UPDATE SET count = excluded.count,
                  first_seq = CASE WHEN reaction_counts.count > 0 THEN reaction_counts.first_seq
                    ELSE excluded.first_seq END,
                  last_seq = excluded.last_seq`,
        );
        return;
      }
      case 'pinned':
        await tx`INSERT INTO pins (conversation_id, target_seq, pinned_seq) VALUES (${id}, ${target}, ${event.seq})
          ON CONFLICT (conversation_id, target_seq) DO UPDATE SET pinned_seq = excluded.pinned_seq`;
        return;
      case 'unpinned':
        await tx`DELETE FROM pins WHERE conversation_id = ${id} AND target_seq = ${target}`;
        return;
      case 'edit':
        return;
    }
  }

  /**
   * A reply updates its thread's summary; its sender follows the thread, having read up to their
   * reply, and the root's sender follows it from its first reply.
   */
  private async addThreadReply(event: ChatEvent, tx: Tx): Promise<void> {
    const { root_seq: root, seq } = event.data!.thread!;
    const id = event.conversation_id;
    const [thread] = await tx<ThreadRow[]>`
      SELECT root_seq, reply_count, last_reply_seq, last_reply_at, participants FROM threads
      WHERE conversation_id = ${id} AND root_seq = ${root}`;
    const participants = nextParticipants(
      (thread?.participants as string[] | undefined) ?? [],
      event.sender_id,
    );
    await pipelined(
      tx`INSERT INTO threads (conversation_id, root_seq, reply_count, last_reply_seq, last_reply_at, participants)
        VALUES (${id}, ${root}, ${seq}, ${event.seq}, ${event.created_at}, ${JSON.stringify(participants)}::text::jsonb)
        ON CONFLICT (conversation_id, root_seq) DO UPDATE SET reply_count = excluded.reply_count,
          last_reply_seq = excluded.last_reply_seq, last_reply_at = excluded.last_reply_at,
          participants = excluded.participants`,
      tx`INSERT INTO thread_reads (conversation_id, user_id, root_seq, read_seq)
        VALUES (${id}, ${event.sender_id}, ${root}, ${seq})
        ON CONFLICT (conversation_id, user_id, root_seq) DO UPDATE
          SET read_seq = greatest(thread_reads.read_seq, excluded.read_seq)`,
      thread
        ? Promise.resolve(null)
        : tx`INSERT INTO thread_reads (conversation_id, user_id, root_seq, read_seq)
            SELECT ${id}, sender_id, ${root}, 0 FROM events WHERE conversation_id = ${id} AND seq = ${root}
            ON CONFLICT DO NOTHING`,
    );
  }

  private async moveThreadCursor(op: ThreadReadOp, batch: Batch): Promise<WriteOutcome> {
    const { tx } = batch;
    const { conversationId: id, userId, rootSeq } = op;
    const state = conversation(id, batch);
    const [current, [thread], [cursor]] = await pipelined(
      member(tx, id, userId),
      tx<
        { reply_count: number }[]
      >`SELECT reply_count FROM threads WHERE conversation_id = ${id} AND root_seq = ${rootSeq}`,
      tx<{ read_seq: number }[]>`SELECT read_seq FROM thread_reads
        WHERE conversation_id = ${id} AND user_id = ${userId} AND root_seq = ${rootSeq}`,
    );
    const { joined_seq: joined } = requireCurrentMember(current);
    // A root from before you joined is one you cannot see: no thread to follow there.
    if (!thread || rootSeq < joined) throw new NatterError('not_found', 'No thread under that message.');
    const moved = movedThreadCursor(cursor?.read_seq ?? null, op.threadSeq, thread.reply_count);
    if (moved === null) return outcome(id, []);
    const [, [unread]] = await pipelined(
      tx`INSERT INTO thread_reads (conversation_id, user_id, root_seq, read_seq) VALUES (${id}, ${userId}, ${rootSeq}, ${moved})
        ON CONFLICT (conversation_id, user_id, root_seq) DO UPDATE SET read_seq = excluded.read_seq`,
      tx<{ n: number }[]>`SELECT count(*)::integer AS n FROM events WHERE conversation_id = ${id}
        AND thread_root = ${rootSeq} AND thread_seq > ${moved} AND sender_id <> ${userId} AND NOT deleted
        AND seq >= ${joined}`,
    );
    ownViewMoved(state, userId, batch);
    return {
      ...outcome(id, []),
      threadCursor: { conversationId: id, userId, rootSeq, readSeq: moved, unread: unread!.n },
    };
  }

  private async setNotifications(op: NotificationsOp, batch: Batch): Promise<WriteOutcome> {
    const state = conversation(op.conversationId, batch);
    const current = requireCurrentMember(await member(batch.tx, op.conversationId, op.userId));
    if (current.notifications === op.level) return outcome(op.conversationId, []);
    await batch.tx`UPDATE members SET notifications = ${op.level}
      WHERE conversation_id = ${op.conversationId} AND user_id = ${op.userId}`;
    ownViewMoved(state, op.userId, batch);
    return outcome(op.conversationId, []);
  }

  /** A former member's view freezes again at a new position, so their change token moves with the mark. */
  private async hide(op: HideOp, batch: Batch): Promise<WriteOutcome> {
    const state = conversation(op.conversationId, batch);
    const former = requireFormerMember(await member(batch.tx, op.conversationId, op.userId));
    if (former.hidden === 1) return outcome(op.conversationId, [], true);
    await batch.tx`UPDATE members SET hidden = 1 WHERE conversation_id = ${op.conversationId} AND user_id = ${op.userId}`;
    const ordinal = batch.positions.next();
    batch.positions.freezeView(op.conversationId, op.userId, ordinal);
    // A channel's position stays: its members' views are not stamped, and this one is frozen.
    if (state.row.kind !== 'channel') {
      state.lastChange = ordinal;
      state.dirty = true;
    }
    return outcome(op.conversationId, []);
  }

  private async moveCursor(op: CursorOp, batch: Batch): Promise<WriteOutcome> {
    const state = conversation(op.conversationId, batch);
    const current = requireCurrentMember(await member(batch.tx, op.conversationId, op.userId));
    const moved = clampCursor(current, op.delivered, op.read, state.row.last_seq);
    if (!moved) return outcome(op.conversationId, []);
    await batch.tx`UPDATE members SET delivered_seq = ${moved.deliveredSeq}, read_seq = ${moved.readSeq}
      WHERE conversation_id = ${op.conversationId} AND user_id = ${op.userId}`;
    ownViewMoved(state, op.userId, batch);
    return cursorOutcome(op.conversationId, op.userId, moved);
  }

  /**
   * The pair's key is claimed before the conversation is made: a node creating the same pair at
   * the same moment waits on the claim, finds the winner's conversation, and reports a duplicate.
   */
  private async createDirect(userId: string, peerId: string, batch: Batch): Promise<WriteOutcome> {
    const { tx } = batch;
    const key = directKeyOf(userId, peerId);
    const existing = await directByKey(tx, key);
    if (existing) return outcome(existing, [], true);
    const id = newConversationId();
    const claimed =
      await tx`INSERT INTO direct_conversations (direct_key, conversation_id) VALUES (${key}, ${id})
      ON CONFLICT (direct_key) DO NOTHING RETURNING conversation_id`;
    if (claimed.length === 0) {
      const winner = await directByKey(tx, key);
      if (!winner) throw new Error('A direct conversation key was taken and is not visible.');
      return outcome(winner, [], true);
    }
    const members = foundingMembers('direct', userId, [peerId]);
    const event = await this.newConversation(id, 'direct', null, userId, members, batch);
    return outcome(id, [event]);
  }

  private async createGroup(
    creatorId: string,
    title: string,
    memberIds: string[],
    batch: Batch,
  ): Promise<WriteOutcome> {
    const members = foundingMembers('group', creatorId, memberIds);
    const id = newConversationId();
    const event = await this.newConversation(id, 'group', title, creatorId, members, batch);
    return outcome(id, [event]);
  }

  private async removeMember(
    actorId: string,
    conversationId: string,
    userId: string,
    batch: Batch,
  ): Promise<WriteOutcome> {
    const { tx } = batch;
    const state = conversation(conversationId, batch);
    const leaving = actorId === userId;
    const [actor, removed] = await pipelined(
      member(tx, conversationId, actorId),
      leaving ? Promise.resolve(undefined) : member(tx, conversationId, userId),
    );
    const target = checkRemoval(state.row.kind, actor, removed, leaving);
    const events: ChatEvent[] = [];
    // Only an owner's departure can hand the group over; the other members are read only then.
    const successor =
      target.role === 'owner' ? successorOf(target, await otherMembers(tx, conversationId, userId)) : null;
    if (successor) {
      events.push(
        await this.appendEvent(state, batch, roleChangedEvent(actorId, successor.user_id, 'owner')),
      );
      await setRole(tx, conversationId, successor.user_id, 'owner');
    }
    const removal = await this.appendEvent(state, batch, departureEvent(actorId, userId));
    events.push(removal);
    await tx`UPDATE members SET left_seq = ${removal.seq} WHERE conversation_id = ${conversationId} AND user_id = ${userId}`;
    batch.positions.freezeView(conversationId, userId, state.lastChange);
    state.row.member_count -= 1;
    return outcome(conversationId, events);
  }

  /** A new conversation, its created event (seq 1) and its members, sent as one pipeline. */
  private async newConversation(
    id: string,
    kind: ConversationKind,
    title: string | null,
    creatorId: string,
    members: NewMember[],
    batch: Batch,
    posting: PostingPolicy = 'everyone',
  ): Promise<ChatEvent> {
    const { now } = batch;
    const row: ConversationRow = {
      id,
      kind,
      title,
      last_seq: 0,
      change_pos: 0,
      member_count: 0,
      group_mentions: 'anyone',
      posting,
      created_at: now,
      updated_at: now,
    };
    const state = { row, dirty: true, lastChange: 0 };
    const memberIds = members.map((m) => m.userId);
    batch.conversations.set(id, state);
    batch.created.push(id);
    const [, event] = await pipelined(
      batch.tx`
        INSERT INTO conversations (id, kind, title, last_seq, change_pos, member_count, created_at, updated_at, posting)
        VALUES (${id}, ${kind}, ${title}, 0, 0, 0, ${now}, ${now}, ${posting})`,
      this.appendEvent(
        state,
        batch,
        createdEvent(creatorId, title, memberIds, kind === 'channel' ? posting : undefined),
      ),
      this.addMembers(state, members, 1, batch),
    );
    return event;
  }

  /**
   * (Re)joined members: cursors start at the join. Their rows in the per-user index are created
   * once; their positions are stamped at the batch's tail. Both statements go out together. A
   * channel's members get a `user_channels` row instead: a channel stays out of the per-user index.
   */
  private async addMembers(
    state: ConversationState,
    members: NewMember[],
    joinedSeq: number,
    batch: Batch,
  ): Promise<void> {
    const { tx } = batch;
    const conversationId = state.row.id;
    const userIds = members.map((m) => m.userId);
    const roles = members.map((m) => m.role);
    await pipelined(
      tx`
        INSERT INTO members (conversation_id, user_id, role, joined_seq, left_seq, left_pos, delivered_seq, read_seq)
        SELECT ${conversationId}, m.user_id, m.role, ${joinedSeq}, NULL, NULL, ${joinedSeq}, ${joinedSeq}
        FROM unnest(${userIds}::text[], ${roles}::text[]) AS m (user_id, role)
        ON CONFLICT (conversation_id, user_id) DO UPDATE SET role = excluded.role, joined_seq = excluded.joined_seq,
          left_seq = NULL, left_pos = NULL, delivered_seq = excluded.delivered_seq, read_seq = excluded.read_seq,
          hidden = 0`,
      state.row.kind === 'channel'
        ? tx`
        INSERT INTO user_channels (user_id, conversation_id, own_pos)
        SELECT user_id, ${conversationId}, 0 FROM unnest(${userIds}::text[]) AS m (user_id)
        ON CONFLICT (user_id, conversation_id) DO NOTHING`
        : tx`
        INSERT INTO user_conversations (user_id, conversation_id, view_pos)
        SELECT user_id, ${conversationId}, 0 FROM unnest(${userIds}::text[]) AS m (user_id)
        ON CONFLICT (user_id, conversation_id) DO NOTHING`,
    );
    for (const userId of userIds) batch.positions.freezeView(conversationId, userId, null);
    state.row.member_count += members.length;
  }

  /**
   * Inserts the event with its ordinal in place of its position, which the batch's tail stamps.
   * The batch's state moves on before the insert is sent, so statements pipelined after it see
   * the new seq (a failed op's state is restored by applyInSavepoint).
   */
  private async appendEvent(state: ConversationState, batch: Batch, e: NewEvent): Promise<ChatEvent> {
    const ordinal = batch.positions.next();
    const seq = state.row.last_seq + 1;
    batch.positions.stampEvent(state.row.id, seq, ordinal);
    state.row.last_seq = seq;
    if (movesActivity(e.kind)) state.row.updated_at = batch.now;
    state.lastChange = ordinal;
    state.dirty = true;
    const data = e.data ? JSON.stringify(e.data) : null;
    const [row] = await batch.tx<EventRow[]>`
      INSERT INTO events (conversation_id, seq, pos, kind, sender_id, device_id, client_msg_id, body, ref_seq,
        reply_seq, thread_root, thread_seq, data, created_at)
      VALUES (${state.row.id}, ${seq}, ${ordinal}, ${e.kind}, ${e.senderId}, ${e.deviceId ?? null},
        ${e.clientMsgId ?? null}, ${e.body ?? null}, ${e.refSeq ?? null}, ${e.replySeq ?? null},
        ${e.thread?.root_seq ?? null}, ${e.thread?.seq ?? null}, ${data}::text::jsonb, ${batch.now})
      RETURNING *`;
    return toChatEvent(row!);
  }

  private async conversationForManager(
    conversationId: string,
    actorId: string,
    batch: Batch,
  ): Promise<ConversationState> {
    const state = conversation(conversationId, batch);
    checkManager(state.row.kind, await member(batch.tx, conversationId, actorId));
    return state;
  }
}

/**
 * Locks, in id order, every existing conversation the ops name; a batch always takes its
 * conversations in the same order as any other batch, so concurrent batches cannot deadlock.
 */
async function lockConversations(tx: Tx, ops: WriteOp[]): Promise<Map<string, ConversationState>> {
  const ids = [...new Set(ops.flatMap((op) => ('conversationId' in op ? [op.conversationId] : [])))].sort();
  const locked = new Map<string, ConversationState>();
  if (ids.length === 0) return locked;
  // Sent at once (not on the await), so statements sent after this call run after the lock.
  const rows = await tx<ConversationRow[]>`
    SELECT * FROM conversations WHERE id = ANY(${ids}::text[]) ORDER BY id FOR UPDATE`.execute();
  for (const row of rows) locked.set(row.id, { row, dirty: false, lastChange: 0 });
  return locked;
}

/**
 * A change to one member's view only (cursors, notification level, a thread cursor). Every member
 * sees a group's receipts, so the group's position moves; a channel shows no one else's, and
 * moving its position would send every one of its members to sync: only the member's own channel
 * row is stamped.
 */
function ownViewMoved(state: ConversationState, userId: string, batch: Batch): void {
  const ordinal = batch.positions.next();
  if (state.row.kind === 'channel') {
    batch.positions.stampChannelView(state.row.id, userId, ordinal);
    return;
  }
  state.lastChange = ordinal;
  state.dirty = true;
}

/** The conversation, locked by this batch, or not_found. */
function conversation(id: string, batch: Batch): ConversationState {
  const state = batch.conversations.get(id);
  if (!state) throw new NatterError('not_found');
  return state;
}

async function member(tx: Tx, conversationId: string, userId: string): Promise<MemberRow | undefined> {
  const [row] = await tx<MemberRow[]>`
    SELECT * FROM members WHERE conversation_id = ${conversationId} AND user_id = ${userId}`;
  return row;
}

/** The other current members, for the owner hand-over (see successorOf). */
function otherMembers(tx: Tx, conversationId: string, userId: string) {
  return tx<SuccessorCandidate[]>`
    SELECT user_id, role, joined_seq FROM members
    WHERE conversation_id = ${conversationId} AND user_id <> ${userId} AND left_seq IS NULL`;
}

async function otherOwners(tx: Tx, conversationId: string, userId: string): Promise<number> {
  const [row] = await tx<{ n: number }[]>`
    SELECT count(*)::integer AS n FROM members
    WHERE conversation_id = ${conversationId} AND user_id <> ${userId} AND left_seq IS NULL AND role = 'owner'`;
  return row!.n;
}

async function setRole(tx: Tx, conversationId: string, userId: string, role: Role): Promise<void> {
  await tx`UPDATE members SET role = ${role} WHERE conversation_id = ${conversationId} AND user_id = ${userId}`;
}

async function directByKey(tx: Tx, key: string): Promise<string | undefined> {
  const [row] = await tx<{ conversation_id: string }[]>`
    SELECT conversation_id FROM direct_conversations WHERE direct_key = ${key}`;
  return row?.conversation_id;
}

/** Sends a statement now; whoever awaits the promise later learns its outcome (never "unhandled"). */
function sendAhead(statement: postgres.PendingQuery<postgres.Row[]>): Promise<unknown> {
  const sent = statement.execute();
  sent.catch(() => {});
  return sent;
}

/**
 * Awaits statements sent together, in the order they were sent. After a failed statement the
 * database refuses the rest as "transaction aborted"; the first failure is the one to report.
 */
async function pipelined<T extends unknown[]>(
  ...statements: { [K in keyof T]: PromiseLike<T[K]> }
): Promise<T> {
  const settled = await Promise.allSettled(statements);
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as T;
}
