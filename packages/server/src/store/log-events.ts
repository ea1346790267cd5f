import type {
  ChatEvent,
  EventData,
  GroupMentionPolicy,
  PostingPolicy,
  ReplyQuote,
  Role,
  ThreadPlace,
} from '@natter/protocol';
import type { AppendOp } from './write-ops.js';

/**
 * The events the write ops append, as both adapters insert them: which kind, who sent it, and its
 * `data` (part of the wire protocol, see EventData). The adapter adds seq, position and time.
 */
export interface NewEvent {
  kind: ChatEvent['kind'];
  senderId: string;
  deviceId?: string | null;
  clientMsgId?: string | null;
  body?: string | null;
  refSeq?: number | null;
  /** message: the seq it replies to (indexed, so a parent's deletion finds the quotes to wipe). */
  replySeq?: number | null;
  /** message in a thread: its place there (indexed, for thread pages and counts). */
  thread?: ThreadPlace | null;
  data?: EventData | null;
}

/** Seq 1 of every conversation: its title and the members it started with. */
export function createdEvent(
  creatorId: string,
  title: string | null,
  memberIds: string[],
  posting?: PostingPolicy,
): NewEvent {
  const data = { title, member_ids: memberIds, ...(posting === undefined ? {} : { posting }) };
  return { kind: 'created', senderId: creatorId, data };
}

/** What the store works out for an appended event inside its transaction. */
export interface Derived {
  /** message with replyTo: the quote of its parent. */
  quote?: ReplyQuote;
  /** reaction: how many users have the emoji on the message after this event. */
  count?: number;
  /** message in a thread: its root and its seq in the thread. */
  thread?: ThreadPlace;
}

/** A message, edit, delete, reaction, pin or unpin, as the member sent it plus what the store derived. */
export function appendedEvent(op: AppendOp, derived: Derived = {}): NewEvent {
  const data: EventData = {};
  if (op.contentType) data.content_type = op.contentType;
  if (op.metadata !== null) data.metadata = op.metadata;
  if (op.attachments && op.attachments.length > 0) data.attachments = op.attachments;
  if (derived.quote) data.reply_to = derived.quote;
  if (derived.thread) data.thread = derived.thread;
  if (op.mentions && op.mentions.length > 0) data.mentions = op.mentions;
  if (op.reaction) {
    data.emoji = op.reaction.emoji;
    data.action = op.reaction.action;
    data.count = derived.count ?? 0;
  }
  return {
    kind: op.eventKind,
    senderId: op.senderId,
    deviceId: op.deviceId,
    clientMsgId: op.clientMsgId,
    body: op.body,
    refSeq: op.refSeq,
    replySeq: derived.quote?.seq ?? null,
    thread: derived.thread ?? null,
    data: Object.keys(data).length === 0 ? null : data,
  };
}

export function memberAddedEvent(actorId: string, userId: string, role: Role): NewEvent {
  return { kind: 'member_added', senderId: actorId, data: { user_id: userId, role } };
}

/** Also the owner hand-over, sent by whoever made the last owner go. */
export function roleChangedEvent(actorId: string, userId: string, role: Role): NewEvent {
  return { kind: 'role_changed', senderId: actorId, data: { user_id: userId, role } };
}

export function settingsChangedEvent(actorId: string, policy: GroupMentionPolicy): NewEvent {
  return { kind: 'settings_changed', senderId: actorId, data: { group_mentions: policy } };
}

export function renamedEvent(actorId: string, title: string): NewEvent {
  return { kind: 'renamed', senderId: actorId, data: { title } };
}

/** `member_left` when the actor removes themself, else `member_removed`. */
export function departureEvent(actorId: string, userId: string): NewEvent {
  return {
    kind: actorId === userId ? 'member_left' : 'member_removed',
    senderId: actorId,
    data: { user_id: userId },
  };
}

/**
 * Whether an event moves its conversation's `updated_at` (the order of conversation lists): a
 * reaction does not, so a thumbs-up on an old message does not lift a conversation to the top.
 */
export function movesActivity(kind: ChatEvent['kind']): boolean {
  return kind !== 'reaction';
}

/**
 * Whether an appended event moves its sender's read and delivered cursors to it: writing in the
 * conversation's timeline (a message, an edit, a delete) shows they have seen it. A reaction, a
 * pin or a reply in a thread does not: one can answer in a thread or react to an old message
 * without having read what came after it.
 */
export function movesSenderCursors(op: AppendOp): boolean {
  if (op.eventKind === 'message') return op.threadRoot === undefined;
  return op.eventKind === 'edit' || op.eventKind === 'delete';
}
