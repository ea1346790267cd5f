import type { ChatEvent, EventData, Role } from '@natter/protocol';
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
  data?: EventData | null;
}

/** Seq 1 of every conversation: its title and the members it started with. */
export function createdEvent(creatorId: string, title: string | null, memberIds: string[]): NewEvent {
  return { kind: 'created', senderId: creatorId, data: { title, member_ids: memberIds } };
}

/** A message, edit or delete, exactly as the member sent it. */
export function appendedEvent(op: AppendOp): NewEvent {
  return {
    kind: op.eventKind,
    senderId: op.senderId,
    deviceId: op.deviceId,
    clientMsgId: op.clientMsgId,
    body: op.body,
    refSeq: op.refSeq,
    ...(op.metadata === null ? {} : { data: { metadata: op.metadata } }),
  };
}

export function memberAddedEvent(actorId: string, userId: string, role: Role): NewEvent {
  return { kind: 'member_added', senderId: actorId, data: { user_id: userId, role } };
}

/** Also the owner hand-over, sent by whoever made the last owner go. */
export function roleChangedEvent(actorId: string, userId: string, role: Role): NewEvent {
  return { kind: 'role_changed', senderId: actorId, data: { user_id: userId, role } };
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
