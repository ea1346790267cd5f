import type { ChatEvent, NatterError, Role } from '@natter/protocol';

/**
 * The writes the log store commits. Every op is checked (membership, roles, dedupe) inside the
 * store's transaction, so an authorization decision can never race the write it guards.
 */
export type WriteOp =
  | AppendOp
  | { kind: 'create_direct'; userId: string; peerId: string }
  | { kind: 'create_group'; creatorId: string; title: string; memberIds: string[] }
  | { kind: 'add_member'; actorId: string; conversationId: string; userId: string; role: Role }
  | { kind: 'remove_member'; actorId: string; conversationId: string; userId: string }
  | { kind: 'set_role'; actorId: string; conversationId: string; userId: string; role: Role }
  | { kind: 'rename'; actorId: string; conversationId: string; title: string }
  | CursorOp;

/** A message, edit or delete from a member: idempotent on (conversationId, senderId, clientMsgId). */
export interface AppendOp {
  kind: 'append';
  eventKind: 'message' | 'edit' | 'delete';
  conversationId: string;
  senderId: string;
  deviceId: string | null;
  clientMsgId: string;
  body: string | null;
  refSeq: number | null;
  /** message: the app's metadata object, if any. */
  metadata: Record<string, unknown> | null;
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
}
