import {
  type ChatEvent,
  type ConversationKind,
  NatterError,
  type PostingPolicy,
  type Role,
} from '@natter/protocol';
import type Database from 'better-sqlite3';
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
import {
  checkThreadRoot,
  movedThreadCursor,
  nextParticipants,
  participantsOf,
  type ThreadRow,
} from '../thread-rules.js';
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
import { type EventRow, toChatEvent } from './sqlite-rows.js';

interface ConversationState {
  row: ConversationRow;
  dirty: boolean;
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
        `INSERT INTO conversations (id, kind, title, direct_key, last_seq, change_pos, member_count, created_at,
           updated_at, posting)
         VALUES (@id, @kind, @title, @direct_key, 0, 0, 0, @now, @now, @posting)`,
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
           left_seq = NULL, left_pos = NULL, delivered_seq = excluded.delivered_seq, read_seq = excluded.read_seq,
           hidden = 0`,
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
      otherMembers: db.prepare<[string, string], SuccessorCandidate>(
        `SELECT user_id, role, joined_seq FROM members
         WHERE conversation_id = ? AND user_id != ? AND left_seq IS NULL`,
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
        `INSERT INTO events (conversation_id, seq, pos, kind, sender_id, device_id, client_msg_id, body, ref_seq,
           reply_seq, thread_root, thread_seq, data, created_at)
         VALUES (@conversation_id, @seq, @pos, @kind, @sender_id, @device_id, @client_msg_id, @body, @ref_seq,
           @reply_seq, @thread_root, @thread_seq, @data, @created_at)`,
      ),
      // A deleted reply in a thread keeps its place there (data.thread), and nothing else.
      wipe: db.prepare<[string, number, number]>(
        `UPDATE events SET body = NULL, deleted = 1, data = CASE WHEN thread_root IS NULL THEN NULL
           ELSE json_object('thread', json_object('root_seq', thread_root, 'seq', thread_seq)) END
         WHERE conversation_id = ? AND (seq = ? OR (kind = 'edit' AND ref_seq = ?))`,
      ),
      wipeQuotes: db.prepare<[string, number]>(
        `UPDATE events SET data = json_set(data, '$.reply_to.body', NULL, '$.reply_to.deleted', json('true'))
         WHERE conversation_id = ? AND reply_seq = ? AND data IS NOT NULL AND deleted = 0`,
      ),
      latestEdit: db.prepare<[string, number], { body: string | null }>(
        `SELECT body FROM events WHERE conversation_id = ? AND kind = 'edit' AND ref_seq = ? ORDER BY seq DESC LIMIT 1`,
      ),
      currentMembersAmong: db.prepare<[string, string], { user_id: string }>(
        `SELECT user_id FROM members WHERE conversation_id = ? AND left_seq IS NULL
         AND user_id IN (SELECT value FROM json_each(?))`,
      ),
      insertMention: db.prepare<[string, string, number, string]>(
        `INSERT INTO mentions (conversation_id, user_id, seq, sender_id) VALUES (?, ?, ?, ?)`,
      ),
      reactionCount: db.prepare<[string, number, string], { count: number; first_seq: number }>(
        `SELECT count, first_seq FROM reaction_counts WHERE conversation_id = ? AND target_seq = ? AND emoji = ?`,
      ),
      emojiOnMessage: db.prepare<[string, number], { n: number }>(
        `SELECT count(*) AS n FROM reaction_counts WHERE conversation_id = ? AND target_seq = ? AND count > 0`,
      ),
      hasReacted: db.prepare<[string, number, string, string], { one: number }>(
        `SELECT 1 AS one FROM reactions WHERE conversation_id = ? AND target_seq = ? AND emoji = ? AND user_id = ?`,
      ),
      addReaction: db.prepare<[string, number, string, string]>(
        `INSERT INTO reactions (conversation_id, target_seq, emoji, user_id) VALUES (?, ?, ?, ?)`,
      ),
      removeReaction: db.prepare<[string, number, string, string]>(
        `DELETE FROM reactions WHERE conversation_id = ? AND target_seq = ? AND emoji = ? AND user_id = ?`,
      ),
      saveReactionCount: db.prepare(
        `INSERT INTO reaction_counts (conversation_id, target_seq, emoji, count, first_seq, last_seq)
         VALUES (@conversation_id, @target_seq, @emoji, @count, @first_seq, @last_seq)
         ON CONFLICT (conversation_id, target_seq, emoji) DO UPDATE SET count = excluded.count,
           first_seq = excluded.first_seq, last_seq = excluded.last_seq`,
      ),
      pinCount: db.prepare<[string], { n: number }>(
        `SELECT count(*) AS n FROM pins WHERE conversation_id = ?`,
      ),
      isPinned: db.prepare<[string, number], { one: number }>(
        `SELECT 1 AS one FROM pins WHERE conversation_id = ? AND target_seq = ?`,
      ),
      pin: db.prepare<[string, number, number]>(
        `INSERT INTO pins (conversation_id, target_seq, pinned_seq) VALUES (?, ?, ?)
         ON CONFLICT (conversation_id, target_seq) DO UPDATE SET pinned_seq = excluded.pinned_seq`,
      ),
      unpin: db.prepare<[string, number]>(`DELETE FROM pins WHERE conversation_id = ? AND target_seq = ?`),
      clearReactions: db.prepare<[string, number]>(
        `DELETE FROM reactions WHERE conversation_id = ? AND target_seq = ?`,
      ),
      clearReactionCounts: db.prepare<[string, number]>(
        `DELETE FROM reaction_counts WHERE conversation_id = ? AND target_seq = ?`,
      ),
      clearMentions: db.prepare<[string, number]>(
        `DELETE FROM mentions WHERE conversation_id = ? AND seq = ?`,
      ),
      thread: db.prepare<[string, number], ThreadRow>(
        `SELECT root_seq, reply_count, last_reply_seq, last_reply_at, participants FROM threads
         WHERE conversation_id = ? AND root_seq = ?`,
      ),
      saveThread: db.prepare(
        `INSERT INTO threads (conversation_id, root_seq, reply_count, last_reply_seq, last_reply_at, participants)
         VALUES (@conversation_id, @root_seq, @reply_count, @last_reply_seq, @last_reply_at, @participants)
         ON CONFLICT (conversation_id, root_seq) DO UPDATE SET reply_count = excluded.reply_count,
           last_reply_seq = excluded.last_reply_seq, last_reply_at = excluded.last_reply_at,
           participants = excluded.participants`,
      ),
      threadCursor: db.prepare<[string, string, number], { read_seq: number }>(
        `SELECT read_seq FROM thread_reads WHERE conversation_id = ? AND user_id = ? AND root_seq = ?`,
      ),
      followThread: db.prepare<[string, string, number, number]>(
        `INSERT INTO thread_reads (conversation_id, user_id, root_seq, read_seq) VALUES (?, ?, ?, ?)
         ON CONFLICT (conversation_id, user_id, root_seq) DO UPDATE SET read_seq = max(read_seq, excluded.read_seq)`,
      ),
      threadUnread: db.prepare<[string, number, number, string, number], { n: number }>(
        `SELECT count(*) AS n FROM events WHERE conversation_id = ? AND thread_root = ? AND thread_seq > ?
         AND sender_id != ? AND deleted = 0 AND seq >= ?`,
      ),
      setGroupMentions: db.prepare<[string, string]>(
        `UPDATE conversations SET group_mentions = ? WHERE id = ?`,
      ),
      hide: db.prepare<[number, string, string]>(
        `UPDATE members SET hidden = 1, left_pos = ? WHERE conversation_id = ? AND user_id = ?`,
      ),
      joinChannel: db.prepare<[string, string]>(
        `INSERT INTO user_channels (user_id, conversation_id, own_pos) VALUES (?, ?, 0)
         ON CONFLICT (user_id, conversation_id) DO NOTHING`,
      ),
      ownChannelChange: db.prepare<[number, string, string]>(
        `UPDATE user_channels SET own_pos = ? WHERE user_id = ? AND conversation_id = ?`,
      ),
      setPosting: db.prepare<[string, string]>(`UPDATE conversations SET posting = ? WHERE id = ?`),
      setNotifications: db.prepare<[string, string, string]>(
        `UPDATE members SET notifications = ? WHERE conversation_id = ? AND user_id = ?`,
      ),
    };
    this.position = this.sql.position.get()!.value;
  }

  /** One transaction for `ops`; their events are stamped `now` (ms). */
  commit(ops: WriteOp[], now: number): WriteResult[] {
    const before = this.position;
    try {
      // IMMEDIATE takes the write lock up front: a deferred transaction that read first could not
      // upgrade after another connection (accounts) wrote, and would fail instead of waiting.
      return this.db
        .transaction(() => {
          const batch = new Map<string, ConversationState>();
          const results = ops.map((op): WriteResult => {
            try {
              const value = this.apply(op, batch, now);
              if (batch.get(value.conversationId)?.row.kind === 'channel') value.channel = true;
              return { ok: true, value };
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
      case 'notifications':
        return this.setNotifications(op, batch);
      case 'thread_read':
        return this.moveThreadCursor(op, batch);
      case 'hide':
        return this.hide(op, batch);
      case 'create_direct':
        return this.createDirect(op.userId, op.peerId, batch, now);
      case 'create_group':
        return this.createGroup(op.creatorId, op.title, op.memberIds, batch, now);
      case 'create_channel': {
        const state = this.newConversation('channel', op.title, null, batch, now, op.posting);
        const members = foundingMembers('channel', op.creatorId, op.memberIds);
        return this.found(state, op.creatorId, members, now, op.posting);
      }
      case 'posting': {
        const state = this.conversationForManager(op.conversationId, op.actorId, batch);
        checkPostingChange(state.row.kind);
        if (state.row.posting === op.policy) return outcome(op.conversationId, [], true);
        const event = this.appendEvent(state, now, postingChangedEvent(op.actorId, op.policy));
        state.row.posting = op.policy;
        this.sql.setPosting.run(op.policy, op.conversationId);
        return outcome(op.conversationId, [event]);
      }
      case 'add_member': {
        const state = this.conversationForManager(op.conversationId, op.actorId, batch);
        const existing = this.sql.member.get(op.conversationId, op.userId);
        if (existing && existing.left_seq === null) return outcome(op.conversationId, [], true);
        const event = this.appendEvent(state, now, memberAddedEvent(op.actorId, op.userId, op.role));
        this.addMemberRow(state, op.userId, op.role, event.seq);
        return outcome(op.conversationId, [event]);
      }
      case 'remove_member':
        return this.removeMember(op.actorId, op.conversationId, op.userId, batch, now);
      case 'set_role': {
        const state = this.conversation(op.conversationId, batch);
        const changes = checkRoleChange(
          state.row.kind,
          this.sql.member.get(op.conversationId, op.actorId),
          this.sql.member.get(op.conversationId, op.userId),
          op.role,
          this.sql.otherOwners.get(op.conversationId, op.userId)!.n,
        );
        if (!changes) return outcome(op.conversationId, [], true);
        const event = this.appendEvent(state, now, roleChangedEvent(op.actorId, op.userId, op.role));
        this.sql.setRole.run(op.role, op.conversationId, op.userId);
        return outcome(op.conversationId, [event]);
      }
      case 'group_mentions': {
        const state = this.conversationForManager(op.conversationId, op.actorId, batch);
        if (state.row.group_mentions === op.policy) return outcome(op.conversationId, [], true);
        const event = this.appendEvent(state, now, settingsChangedEvent(op.actorId, op.policy));
        state.row.group_mentions = op.policy;
        this.sql.setGroupMentions.run(op.policy, op.conversationId);
        return outcome(op.conversationId, [event]);
      }
      case 'rename': {
        const state = this.conversationForManager(op.conversationId, op.actorId, batch);
        const event = this.appendEvent(state, now, renamedEvent(op.actorId, op.title));
        state.row.title = op.title;
        return outcome(op.conversationId, [event]);
      }
    }
  }

  private append(op: AppendOp, batch: Map<string, ConversationState>, now: number): WriteOutcome {
    const { conversationId: id } = op;
    const original = this.sql.byClientMsgId.get(id, op.senderId, op.clientMsgId);
    if (original) return outcome(id, [toChatEvent(original)], true);
    const state = this.conversation(id, batch);
    const sender = requireCurrentMember(this.sql.member.get(id, op.senderId));
    checkPosting(state.row, sender, op.eventKind);
    const derived = this.check(op, state, sender);
    const event = this.appendEvent(state, now, appendedEvent(op, derived));
    this.applyEffects(op, event);
    if (movesSenderCursors(op)) {
      this.sql.senderRead.run(event.seq, event.seq, id, op.senderId);
    }
    return outcome(id, [event]);
  }

  /** The rules each kind of appended event must pass, and what the event derives from the log. */
  private check(op: AppendOp, state: ConversationState, sender: MemberRow): Derived {
    const id = op.conversationId;
    const targetSeq = op.eventKind === 'message' ? op.replyTo : op.refSeq;
    const row = targetSeq === undefined || targetSeq === null ? undefined : this.sql.event.get(id, targetSeq);
    const target = row && toChatEvent(row);
    switch (op.eventKind) {
      case 'edit':
      case 'delete':
        checkAmend(op.eventKind, state.row.kind, sender, target);
        return {};
      case 'message': {
        const derived: Derived = {};
        if (op.mentions && op.mentions.length > 0) {
          const users = mentionedUsers(op.mentions);
          const members = this.sql.currentMembersAmong.all(id, JSON.stringify(users));
          checkMentions(op.mentions, new Set(members.map((m) => m.user_id)));
          checkGroupMentions(op.mentions, state.row, sender);
        }
        if (op.threadRoot !== undefined) {
          const root = this.sql.event.get(id, op.threadRoot);
          checkThreadRoot(sender, root && toChatEvent(root));
          const replies = this.sql.thread.get(id, op.threadRoot)?.reply_count ?? 0;
          derived.thread = { root_seq: op.threadRoot, seq: replies + 1 };
        }
        if (op.replyTo !== undefined) {
          checkTarget(sender, target);
          const body = this.sql.latestEdit.get(id, target.seq)?.body ?? target.body;
          derived.quote = quoteOf(target, body);
        }
        return derived;
      }
      case 'reaction': {
        checkTarget(sender, target);
        const { emoji, action } = op.reaction!;
        const count = this.sql.reactionCount.get(id, target.seq, emoji)?.count ?? 0;
        const mine = this.sql.hasReacted.get(id, target.seq, emoji, op.senderId) !== undefined;
        if (action === 'add' && !mine && count === 0)
          checkNewEmoji(this.sql.emojiOnMessage.get(id, target.seq)!.n);
        return { count: action === 'add' ? count + (mine ? 0 : 1) : count - (mine ? 1 : 0) };
      }
      case 'pinned':
      case 'unpinned':
        checkTarget(sender, target);
        checkPinner(state.row.kind, sender);
        if (op.eventKind === 'pinned') {
          checkPinRoom(this.sql.pinCount.get(id)!.n, this.sql.isPinned.get(id, target.seq) !== undefined);
        }
        return {};
    }
  }

  /** What an appended event changes besides the log: the wiped message, mentions, reactions, pins. */
  private applyEffects(op: AppendOp, event: ChatEvent): void {
    const id = op.conversationId;
    const target = op.refSeq!;
    switch (op.eventKind) {
      case 'delete':
        this.sql.wipe.run(id, target, target);
        this.sql.wipeQuotes.run(id, target);
        this.sql.clearReactions.run(id, target);
        this.sql.clearReactionCounts.run(id, target);
        this.sql.clearMentions.run(id, target);
        this.sql.unpin.run(id, target);
        return;
      case 'message':
        for (const user of op.mentions ?? []) this.sql.insertMention.run(id, user, event.seq, op.senderId);
        if (event.data?.thread) this.addThreadReply(event);
        return;
      case 'reaction': {
        const { emoji, action } = op.reaction!;
        const mine = this.sql.hasReacted.get(id, target, emoji, op.senderId) !== undefined;
        if (action === 'add' && !mine) this.sql.addReaction.run(id, target, emoji, op.senderId);
        if (action === 'remove' && mine) this.sql.removeReaction.run(id, target, emoji, op.senderId);
        const before = this.sql.reactionCount.get(id, target, emoji);
        const count = event.data?.count ?? 0;
        // A remove of an emoji the message never had leaves no row behind (it may leave as_of alone).
        if (!before && count === 0) return;
        this.sql.saveReactionCount.run({
          conversation_id: id,
          target_seq: target,
          emoji,
          count,
          first_seq: before && before.count > 0 ? before.first_seq : event.seq,
          last_seq: event.seq,
        });
        return;
      }
      case 'pinned':
        this.sql.pin.run(id, target, event.seq);
        return;
      case 'unpinned':
        this.sql.unpin.run(id, target);
        return;
      case 'edit':
        return;
    }
  }

  /**
   * A reply updates its thread's summary; its sender follows the thread, having read up to their
   * reply, and the root's sender follows it from its first reply.
   */
  private addThreadReply(event: ChatEvent): void {
    const { root_seq: root, seq } = event.data!.thread!;
    const id = event.conversation_id;
    const thread = this.sql.thread.get(id, root);
    this.sql.saveThread.run({
      conversation_id: id,
      root_seq: root,
      reply_count: seq,
      last_reply_seq: event.seq,
      last_reply_at: event.created_at,
      participants: JSON.stringify(nextParticipants(thread ? participantsOf(thread) : [], event.sender_id)),
    });
    this.sql.followThread.run(id, event.sender_id, root, seq);
    if (!thread) this.sql.followThread.run(id, this.sql.event.get(id, root)!.sender_id, root, 0);
  }

  private moveThreadCursor(op: ThreadReadOp, batch: Map<string, ConversationState>): WriteOutcome {
    const { conversationId: id, userId, rootSeq } = op;
    const state = this.conversation(id, batch);
    const member = requireCurrentMember(this.sql.member.get(id, userId));
    // A root from before you joined is one you cannot see: no thread to follow there.
    const thread = rootSeq < member.joined_seq ? undefined : this.sql.thread.get(id, rootSeq);
    if (!thread) throw new NatterError('not_found', 'No thread under that message.');
    const current = this.sql.threadCursor.get(id, userId, rootSeq)?.read_seq ?? null;
    const moved = movedThreadCursor(current, op.threadSeq, thread.reply_count);
    if (moved === null) return outcome(id, []);
    this.sql.followThread.run(id, userId, rootSeq, moved);
    this.ownViewMoved(state, userId);
    const unread = this.sql.threadUnread.get(id, rootSeq, moved, userId, member.joined_seq)!.n;
    return {
      ...outcome(id, []),
      threadCursor: { conversationId: id, userId, rootSeq, readSeq: moved, unread },
    };
  }

  private setNotifications(op: NotificationsOp, batch: Map<string, ConversationState>): WriteOutcome {
    const state = this.conversation(op.conversationId, batch);
    const member = requireCurrentMember(this.sql.member.get(op.conversationId, op.userId));
    if (member.notifications === op.level) return outcome(op.conversationId, []);
    this.sql.setNotifications.run(op.level, op.conversationId, op.userId);
    this.ownViewMoved(state, op.userId);
    return outcome(op.conversationId, []);
  }

  /** A former member's view moves to a new position, so their change token moves with the mark. */
  private hide(op: HideOp, batch: Map<string, ConversationState>): WriteOutcome {
    this.conversation(op.conversationId, batch);
    const former = requireFormerMember(this.sql.member.get(op.conversationId, op.userId));
    if (former.hidden === 1) return outcome(op.conversationId, [], true);
    this.sql.hide.run(++this.position, op.conversationId, op.userId);
    return outcome(op.conversationId, []);
  }

  private moveCursor(op: CursorOp, batch: Map<string, ConversationState>): WriteOutcome {
    const state = this.conversation(op.conversationId, batch);
    const member = requireCurrentMember(this.sql.member.get(op.conversationId, op.userId));
    const moved = clampCursor(member, op.delivered, op.read, state.row.last_seq);
    if (!moved) return outcome(op.conversationId, []);
    this.sql.setCursors.run(moved.deliveredSeq, moved.readSeq, op.conversationId, op.userId);
    this.ownViewMoved(state, op.userId);
    return cursorOutcome(op.conversationId, op.userId, moved);
  }

  /**
   * A change to one member's view only (cursors, notification level, a thread cursor). Every member
   * sees a group's receipts, so the group's change position moves; a channel shows no one else's,
   * and moving its position would send every one of its members to sync: only the member's own
   * channel row moves.
   */
  private ownViewMoved(state: ConversationState, userId: string): void {
    if (state.row.kind === 'channel') {
      this.sql.ownChannelChange.run(++this.position, userId, state.row.id);
      return;
    }
    state.row.change_pos = ++this.position;
    state.dirty = true;
  }

  private createDirect(
    userId: string,
    peerId: string,
    batch: Map<string, ConversationState>,
    now: number,
  ): WriteOutcome {
    const key = directKeyOf(userId, peerId);
    const existing = this.sql.directByKey.get(key);
    if (existing) return outcome(existing.id, [], true);
    const state = this.newConversation('direct', null, key, batch, now);
    return this.found(state, userId, foundingMembers('direct', userId, [peerId]), now);
  }

  private createGroup(
    creatorId: string,
    title: string,
    memberIds: string[],
    batch: Map<string, ConversationState>,
    now: number,
  ): WriteOutcome {
    const state = this.newConversation('group', title, null, batch, now);
    return this.found(state, creatorId, foundingMembers('group', creatorId, memberIds), now);
  }

  /** The created event (seq 1) of a new conversation, and its founding members. */
  private found(
    state: ConversationState,
    creatorId: string,
    members: NewMember[],
    now: number,
    posting?: PostingPolicy,
  ): WriteOutcome {
    const memberIds = members.map((m) => m.userId);
    const event = this.appendEvent(state, now, createdEvent(creatorId, state.row.title, memberIds, posting));
    for (const m of members) this.addMemberRow(state, m.userId, m.role, event.seq);
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
    const leaving = actorId === userId;
    const target = checkRemoval(
      state.row.kind,
      this.sql.member.get(conversationId, actorId),
      leaving ? undefined : this.sql.member.get(conversationId, userId),
      leaving,
    );
    const events: ChatEvent[] = [];
    // Only an owner's departure can hand the group over; the other members are read only then.
    const successor =
      target.role === 'owner' ? successorOf(target, this.sql.otherMembers.all(conversationId, userId)) : null;
    if (successor) {
      events.push(this.appendEvent(state, now, roleChangedEvent(actorId, successor.user_id, 'owner')));
      this.sql.setRole.run('owner', conversationId, successor.user_id);
    }
    const removal = this.appendEvent(state, now, departureEvent(actorId, userId));
    events.push(removal);
    this.sql.markLeft.run(removal.seq, this.position, conversationId, userId);
    state.row.member_count -= 1;
    return outcome(conversationId, events);
  }

  private newConversation(
    kind: ConversationKind,
    title: string | null,
    directKey: string | null,
    batch: Map<string, ConversationState>,
    now: number,
    posting: PostingPolicy = 'everyone',
  ): ConversationState {
    const id = newConversationId();
    this.sql.insertConversation.run({ id, kind, title, direct_key: directKey, now, posting });
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
    if (state.row.kind === 'channel') this.sql.joinChannel.run(userId, state.row.id);
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
      reply_seq: e.replySeq ?? null,
      thread_root: e.thread?.root_seq ?? null,
      thread_seq: e.thread?.seq ?? null,
      data: e.data ? JSON.stringify(e.data) : null,
      deleted: 0,
      created_at: now,
    };
    this.sql.insertEvent.run(row);
    state.row.last_seq = row.seq;
    state.row.change_pos = row.pos;
    if (movesActivity(e.kind)) state.row.updated_at = now;
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

  private conversationForManager(
    conversationId: string,
    actorId: string,
    batch: Map<string, ConversationState>,
  ): ConversationState {
    const state = this.conversation(conversationId, batch);
    checkManager(state.row.kind, this.sql.member.get(conversationId, actorId));
    return state;
  }
}
