import { randomBytes } from 'node:crypto';
import { type ChatEvent, type EventData, NatterError, type Role } from '@natter/protocol';
import type Database from 'better-sqlite3';
import type { AppendOp, CursorOp, WriteOp, WriteOutcome, WriteResult } from '../write-ops.js';
import { type ConversationRow, type EventRow, type MemberRow, toChatEvent } from './sqlite-rows.js';

interface ConversationState {
  row: ConversationRow;
  dirty: boolean;
}

interface NewEvent {
  kind: ChatEvent['kind'];
  senderId: string;
  deviceId?: string | null;
  clientMsgId?: string | null;
  body?: string | null;
  refSeq?: number | null;
  data?: EventData | null;
}

/**
 * The single writer of the embedded store. A batch of ops is one SQLite transaction, so one WAL
 * fsync (synchronous=FULL) covers the whole batch. Seqs and positions are assigned here, inside
 * the transaction; conversation rows touched by the batch are written back once at its end.
 */
export class SqliteLogWriter {
  private position: number;
  private readonly sql;

  constructor(private readonly db: Database.Database) {
    this.sql = {
      position: db.prepare<[], { value: number }>(`SELECT value FROM meta WHERE key = 'position'`),
      savePosition: db.prepare<[number]>(`UPDATE meta SET value = ? WHERE key = 'position'`),
      conversation: db.prepare<[string], ConversationRow>(`SELECT * FROM conversations WHERE id = ?`),
      directByKey: db.prepare<[string], { id: string }>(`SELECT id FROM conversations WHERE direct_key = ?`),
      insertConversation: db.prepare(
        `INSERT INTO conversations (id, kind, title, direct_key, last_seq, change_pos, member_count, created_at, updated_at)
         VALUES (@id, @kind, @title, @direct_key, 0, 0, 0, @now, @now)`,
      ),
      saveConversation: db.prepare(
        `UPDATE conversations SET title = @title, last_seq = @last_seq, change_pos = @change_pos,
           member_count = @member_count, updated_at = @updated_at WHERE id = @id`,
      ),
      member: db.prepare<[string, string], MemberRow>(
        `SELECT * FROM members WHERE conversation_id = ? AND user_id = ?`,
      ),
      upsertMember: db.prepare(
        `INSERT INTO members (conversation_id, user_id, role, joined_seq, left_seq, left_pos, delivered_seq, read_seq)
         VALUES (@conversation_id, @user_id, @role, @joined_seq, NULL, NULL, @joined_seq, @joined_seq)
         ON CONFLICT (conversation_id, user_id) DO UPDATE SET role = excluded.role, joined_seq = excluded.joined_seq,
           left_seq = NULL, left_pos = NULL, delivered_seq = excluded.delivered_seq, read_seq = excluded.read_seq`,
      ),
      markLeft: db.prepare<[number, number, string, string]>(
        `UPDATE members SET left_seq = ?, left_pos = ? WHERE conversation_id = ? AND user_id = ?`,
      ),
      setRole: db.prepare<[string, string, string]>(
        `UPDATE members SET role = ? WHERE conversation_id = ? AND user_id = ?`,
      ),
      setCursors: db.prepare<[number, number, string, string]>(
        `UPDATE members SET delivered_seq = ?, read_seq = ? WHERE conversation_id = ? AND user_id = ?`,
      ),
      senderRead: db.prepare<[number, number, string, string]>(
        `UPDATE members SET read_seq = max(read_seq, ?), delivered_seq = max(delivered_seq, ?)
         WHERE conversation_id = ? AND user_id = ?`,
      ),
      successor: db.prepare<[string, string], { user_id: string }>(
        `SELECT user_id FROM members WHERE conversation_id = ? AND user_id != ? AND left_seq IS NULL
         ORDER BY CASE role WHEN 'admin' THEN 0 ELSE 1 END, joined_seq LIMIT 1`,
      ),
      otherOwners: db.prepare<[string, string], { n: number }>(
        `SELECT count(*) AS n FROM members WHERE conversation_id = ? AND user_id != ? AND left_seq IS NULL
         AND role = 'owner'`,
      ),
      byClientMsgId: db.prepare<[string, string, string], EventRow>(
        `SELECT * FROM events WHERE conversation_id = ? AND sender_id = ? AND client_msg_id = ?`,
      ),
      event: db.prepare<[string, number], EventRow>(
        `SELECT * FROM events WHERE conversation_id = ? AND seq = ?`,
      ),
      insertEvent: db.prepare(
        `INSERT INTO events (conversation_id, seq, pos, kind, sender_id, device_id, client_msg_id, body, ref_seq, data, created_at)
         VALUES (@conversation_id, @seq, @pos, @kind, @sender_id, @device_id, @client_msg_id, @body, @ref_seq, @data, @created_at)`,
      ),
      wipe: db.prepare<[string, number, number]>(
        `UPDATE events SET body = NULL, deleted = 1
         WHERE conversation_id = ? AND (seq = ? OR (kind = 'edit' AND ref_seq = ?))`,
      ),
    };
    this.position = this.sql.position.get()!.value;
  }

  commit(ops: WriteOp[]): WriteResult[] {
    const before = this.position;
    try {
      // IMMEDIATE takes the write lock up front: a deferred transaction that read first could not
      // upgrade after another connection (accounts) wrote, and would fail instead of waiting.
      return this.db
        .transaction(() => {
          const batch = new Map<string, ConversationState>();
          const now = Date.now();
          const results = ops.map((op): WriteResult => {
            try {
              return { ok: true, value: this.apply(op, batch, now) };
            } catch (error) {
              if (error instanceof NatterError) return { ok: false, error };
              throw error;
            }
          });
          for (const state of batch.values()) {
            if (state.dirty) this.sql.saveConversation.run(state.row);
          }
          this.sql.savePosition.run(this.position);
          return results;
        })
        .immediate();
    } catch (error) {
      this.position = before;
      throw error;
    }
  }

  private apply(op: WriteOp, batch: Map<string, ConversationState>, now: number): WriteOutcome {
    switch (op.kind) {
      case 'append':
        return this.append(op, batch, now);
      case 'cursor':
        return this.moveCursor(op, batch);
      case 'create_direct':
        return this.createDirect(op.userId, op.peerId, batch, now);
      case 'create_group':
        return this.createGroup(op.creatorId, op.title, op.memberIds, batch, now);
      case 'add_member': {
        const state = this.conversationForManager(op.conversationId, op.actorId, batch);
        const existing = this.sql.member.get(op.conversationId, op.userId);
        if (existing && existing.left_seq === null) return outcome(op.conversationId, [], true);
        const event = this.appendEvent(state, now, {
          kind: 'member_added',
          senderId: op.actorId,
          data: { user_id: op.userId, role: op.role },
        });
        this.sql.upsertMember.run({
          conversation_id: op.conversationId,
          user_id: op.userId,
          role: op.role,
          joined_seq: event.seq,
        });
        state.row.member_count += 1;
        return outcome(op.conversationId, [event]);
      }
      case 'remove_member':
        return this.removeMember(op.actorId, op.conversationId, op.userId, batch, now);
      case 'set_role': {
        const state = this.conversation(op.conversationId, batch);
        const actor = this.activeMember(op.conversationId, op.actorId);
        if (state.row.kind !== 'group' || actor.role !== 'owner') throw new NatterError('forbidden');
        const target = this.activeMember(op.conversationId, op.userId);
        if (target.role === op.role) return outcome(op.conversationId, [], true);
        if (target.role === 'owner' && this.sql.otherOwners.get(op.conversationId, op.userId)!.n === 0) {
          throw new NatterError(
            'forbidden',
            'A group keeps at least one owner: make someone else owner first.',
          );
        }
        const event = this.appendEvent(state, now, {
          kind: 'role_changed',
          senderId: op.actorId,
          data: { user_id: op.userId, role: op.role },
        });
        this.sql.setRole.run(op.role, op.conversationId, op.userId);
        return outcome(op.conversationId, [event]);
      }
      case 'rename': {
        const state = this.conversationForManager(op.conversationId, op.actorId, batch);
        const event = this.appendEvent(state, now, {
          kind: 'renamed',
          senderId: op.actorId,
          data: { title: op.title },
        });
        state.row.title = op.title;
        return outcome(op.conversationId, [event]);
      }
    }
  }

  private append(op: AppendOp, batch: Map<string, ConversationState>, now: number): WriteOutcome {
    const original = this.sql.byClientMsgId.get(op.conversationId, op.senderId, op.clientMsgId);
    if (original) return outcome(op.conversationId, [toChatEvent(original)], true);
    const state = this.conversation(op.conversationId, batch);
    const sender = this.activeMember(op.conversationId, op.senderId);
    if (op.eventKind !== 'message') {
      const target = op.refSeq === null ? undefined : this.sql.event.get(op.conversationId, op.refSeq);
      if (target?.kind !== 'message' || target.deleted === 1 || target.seq < sender.joined_seq) {
        throw new NatterError('not_found', 'No such message in this conversation.');
      }
      const mayModerate = state.row.kind === 'group' && sender.role !== 'member';
      const own = target.sender_id === op.senderId;
      if (!own && !(op.eventKind === 'delete' && mayModerate)) {
        throw new NatterError('forbidden', 'Only the sender can change this message.');
      }
    }
    const event = this.appendEvent(state, now, {
      kind: op.eventKind,
      senderId: op.senderId,
      deviceId: op.deviceId,
      clientMsgId: op.clientMsgId,
      body: op.body,
      refSeq: op.refSeq,
    });
    if (op.eventKind === 'delete') this.sql.wipe.run(op.conversationId, op.refSeq!, op.refSeq!);
    this.sql.senderRead.run(event.seq, event.seq, op.conversationId, op.senderId);
    return outcome(op.conversationId, [event]);
  }

  private moveCursor(op: CursorOp, batch: Map<string, ConversationState>): WriteOutcome {
    const state = this.conversation(op.conversationId, batch);
    const member = this.activeMember(op.conversationId, op.userId);
    const last = state.row.last_seq;
    const read = Math.max(member.read_seq, Math.min(op.read ?? 0, last));
    const delivered = Math.max(member.delivered_seq, read, Math.min(op.delivered ?? 0, last));
    if (read === member.read_seq && delivered === member.delivered_seq) {
      return outcome(op.conversationId, []);
    }
    this.sql.setCursors.run(delivered, read, op.conversationId, op.userId);
    state.row.change_pos = ++this.position;
    state.dirty = true;
    return {
      ...outcome(op.conversationId, []),
      cursor: {
        conversationId: op.conversationId,
        userId: op.userId,
        deliveredSeq: delivered,
        readSeq: read,
      },
    };
  }

  private createDirect(
    userId: string,
    peerId: string,
    batch: Map<string, ConversationState>,
    now: number,
  ): WriteOutcome {
    const key = [userId, peerId].sort().join('\n');
    const existing = this.sql.directByKey.get(key);
    if (existing) return outcome(existing.id, [], true);
    const memberIds = [...new Set([userId, peerId])];
    const state = this.newConversation('direct', null, key, batch, now);
    const event = this.appendEvent(state, now, {
      kind: 'created',
      senderId: userId,
      data: { title: null, member_ids: memberIds },
    });
    for (const id of memberIds) this.addMemberRow(state, id, 'member', event.seq);
    return outcome(state.row.id, [event]);
  }

  private createGroup(
    creatorId: string,
    title: string,
    memberIds: string[],
    batch: Map<string, ConversationState>,
    now: number,
  ): WriteOutcome {
    const members = [...new Set([creatorId, ...memberIds])];
    const state = this.newConversation('group', title, null, batch, now);
    const event = this.appendEvent(state, now, {
      kind: 'created',
      senderId: creatorId,
      data: { title, member_ids: members },
    });
    for (const id of members) this.addMemberRow(state, id, id === creatorId ? 'owner' : 'member', event.seq);
    return outcome(state.row.id, [event]);
  }

  private removeMember(
    actorId: string,
    conversationId: string,
    userId: string,
    batch: Map<string, ConversationState>,
    now: number,
  ): WriteOutcome {
    const state = this.conversation(conversationId, batch);
    const actor = this.activeMember(conversationId, actorId);
    const leaving = actorId === userId;
    if (state.row.kind !== 'group')
      throw new NatterError('forbidden', 'Direct conversations have fixed members.');
    const target = leaving ? actor : this.activeMember(conversationId, userId);
    if (!leaving && (actor.role === 'member' || (target.role === 'owner' && actor.role !== 'owner'))) {
      throw new NatterError('forbidden');
    }
    const events: ChatEvent[] = [];
    // A group never loses its last owner while it has members: the longest-serving admin (else
    // member) takes over.
    const lastOwner = target.role === 'owner' && this.sql.otherOwners.get(conversationId, userId)!.n === 0;
    const successor = lastOwner ? this.sql.successor.get(conversationId, userId) : undefined;
    if (successor) {
      events.push(
        this.appendEvent(state, now, {
          kind: 'role_changed',
          senderId: actorId,
          data: { user_id: successor.user_id, role: 'owner' },
        }),
      );
      this.sql.setRole.run('owner', conversationId, successor.user_id);
    }
    const removal = this.appendEvent(state, now, {
      kind: leaving ? 'member_left' : 'member_removed',
      senderId: actorId,
      data: { user_id: userId },
    });
    events.push(removal);
    this.sql.markLeft.run(removal.seq, this.position, conversationId, userId);
    state.row.member_count -= 1;
    return outcome(conversationId, events);
  }

  private newConversation(
    kind: 'direct' | 'group',
    title: string | null,
    directKey: string | null,
    batch: Map<string, ConversationState>,
    now: number,
  ): ConversationState {
    const id = `c_${randomBytes(12).toString('base64url')}`;
    this.sql.insertConversation.run({ id, kind, title, direct_key: directKey, now });
    const state = { row: this.sql.conversation.get(id)!, dirty: true };
    batch.set(id, state);
    return state;
  }

  private addMemberRow(state: ConversationState, userId: string, role: Role, joinedSeq: number): void {
    this.sql.upsertMember.run({
      conversation_id: state.row.id,
      user_id: userId,
      role,
      joined_seq: joinedSeq,
    });
    state.row.member_count += 1;
  }

  private appendEvent(state: ConversationState, now: number, e: NewEvent): ChatEvent {
    const row: EventRow = {
      conversation_id: state.row.id,
      seq: state.row.last_seq + 1,
      pos: ++this.position,
      kind: e.kind,
      sender_id: e.senderId,
      device_id: e.deviceId ?? null,
      client_msg_id: e.clientMsgId ?? null,
      body: e.body ?? null,
      ref_seq: e.refSeq ?? null,
      data: e.data ? JSON.stringify(e.data) : null,
      deleted: 0,
      created_at: now,
    };
    this.sql.insertEvent.run(row);
    state.row.last_seq = row.seq;
    state.row.change_pos = row.pos;
    state.row.updated_at = now;
    state.dirty = true;
    return toChatEvent(row);
  }

  /** The conversation, or not_found. Batch-local so several ops in one batch see each other's seqs. */
  private conversation(id: string, batch: Map<string, ConversationState>): ConversationState {
    let state = batch.get(id);
    if (!state) {
      const row = this.sql.conversation.get(id);
      if (!row) throw new NatterError('not_found');
      state = { row, dirty: false };
      batch.set(id, state);
    }
    return state;
  }

  /** A current member, or not_found: a non-member learns nothing about the conversation. */
  private activeMember(conversationId: string, userId: string): MemberRow {
    const member = this.sql.member.get(conversationId, userId);
    if (!member || member.left_seq !== null) throw new NatterError('not_found');
    return member;
  }

  private conversationForManager(
    conversationId: string,
    actorId: string,
    batch: Map<string, ConversationState>,
  ): ConversationState {
    const state = this.conversation(conversationId, batch);
    const actor = this.activeMember(conversationId, actorId);
    if (state.row.kind !== 'group' || actor.role === 'member') throw new NatterError('forbidden');
    return state;
  }
}

function outcome(conversationId: string, events: ChatEvent[], duplicate = false): WriteOutcome {
  return { conversationId, events, duplicate, cursor: null };
}
