import type {
  AttachmentRef,
  ChatEvent,
  GroupMentionPolicy,
  NatterError,
  NotificationLevel,
  PostingPolicy,
  Role,
} from '@natter/protocol';

/**
 * The writes the log store commits. Every op is checked (membership, roles, dedupe) inside the
 * store's transaction, so an authorization decision can never race the write it guards.
 */
export type WriteOp =
  | AppendOp
  | { kind: 'create_direct'; userId: string; peerId: string }
  | { kind: 'create_group'; creatorId: string; title: string; memberIds: string[] }
  | { kind: 'create_channel'; creatorId: string; title: string; memberIds: string[]; posting: PostingPolicy }
  | { kind: 'add_member'; actorId: string; conversationId: string; userId: string; role: Role }
  | { kind: 'remove_member'; actorId: string; conversationId: string; userId: string }
  | { kind: 'set_role'; actorId: string; conversationId: string; userId: string; role: Role }
  | { kind: 'rename'; actorId: string; conversationId: string; title: string }
  | { kind: 'group_mentions'; actorId: string; conversationId: string; policy: GroupMentionPolicy }
  | { kind: 'posting'; actorId: string; conversationId: string; policy: PostingPolicy }
  | CursorOp
  | ThreadReadOp
  | NotificationsOp
  | HideOp;

/**
 * Hides a conversation from a former member's list and sync (idempotent); `not_found` for anyone
 * else, current member or stranger alike. Being added again clears it.
 */
export interface HideOp {
  kind: 'hide';
  conversationId: string;
  userId: string;
}

/**
 * A message, edit, delete, reaction, pin or unpin from a member: idempotent on (conversationId,
 * senderId, clientMsgId). `refSeq` names the message an edit, delete, reaction or pin is about.
 */
export interface AppendOp {
  kind: 'append';
  eventKind: 'message' | 'edit' | 'delete' | 'reaction' | 'pinned' | 'unpinned';
  conversationId: string;
  senderId: string;
  deviceId: string | null;
  clientMsgId: string;
  body: string | null;
  refSeq: number | null;
  /** message: the app's metadata object, if any. */
  metadata: Record<string, unknown> | null;
  /** message: the uploaded files it carries, as recorded at upload. */
  attachments?: AttachmentRef[];
  /** message: its content type when the sender named one (absent: text). */
  contentType?: 'text';
  /** message: the root message of the thread it is a reply in. */
  threadRoot?: number;
  /** message: the seq of the message it answers (the store copies a quote of it into the event). */
  replyTo?: number;
  /** message: user ids (current members) and `@all` / `@here` it mentions, without repeats. */
  mentions?: string[];
  /** reaction: the emoji and whether it is added or removed. */
  reaction?: { emoji: string; action: 'add' | 'remove' };
}

/** Moves a member's read cursor in a thread forward (never back), clamped to its newest reply. */
export interface ThreadReadOp {
  kind: 'thread_read';
  conversationId: string;
  userId: string;
  rootSeq: number;
  threadSeq: number;
}

/** Sets a member's notification level; like a cursor move, it changes only that member's view. */
export interface NotificationsOp {
  kind: 'notifications';
  conversationId: string;
  userId: string;
  level: NotificationLevel;
}

/** Moves a member's delivered/read cursors forward (never back), clamped to the newest seq. */
export interface CursorOp {
  kind: 'cursor';
  conversationId: string;
  userId: string;
  delivered: number | null;
  read: number | null;
}

export interface CursorState {
  conversationId: string;
  userId: string;
  deliveredSeq: number;
  readSeq: number;
}

export type WriteResult = { ok: true; value: WriteOutcome } | { ok: false; error: NatterError };

export interface WriteOutcome {
  conversationId: string;
  /** Events this op committed, in seq order (for a duplicate: the original event). */
  events: ChatEvent[];
  /** The op had been committed before (same client_msg_id, or the direct conversation already existed). */
  duplicate: boolean;
  /** cursor ops: the new cursors, or null when nothing moved. */
  cursor: CursorState | null;
  /** thread_read ops: the member's new thread cursor, when it moved. */
  threadCursor?: ThreadCursorState;
  /** Present (true) when the conversation is a channel: live delivery fans out on read (ChannelAudience). */
  channel?: true;
}

export interface ThreadCursorState {
  conversationId: string;
  userId: string;
  rootSeq: number;
  readSeq: number;
  /** Replies by others after the cursor, not deleted. */
  unread: number;
}
