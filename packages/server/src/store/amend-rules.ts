import { type ConversationKind, type EventKind, NatterError } from '@natter/protocol';
import { hasRoles } from './channel-rules.js';
import type { MemberRow } from './log-rows.js';

/** The fields of the message an edit or delete names. */
export interface AmendTarget {
  kind: EventKind;
  seq: number;
  sender_id: string;
  deleted: boolean;
}

/**
 * Whether `sender` (a current member) may edit or delete `target`, the event at the op's ref_seq
 * (undefined when there is none). The target must be a message, not deleted, and one the sender
 * can see (sent since they joined), else `not_found`. Only its sender may edit it; its sender, or
 * an admin or owner of a group, may delete it; anyone else gets `forbidden`.
 */
export function checkAmend(
  amend: 'edit' | 'delete',
  conversationKind: ConversationKind,
  sender: MemberRow,
  target: AmendTarget | undefined,
): void {
  if (target?.kind !== 'message' || target.deleted || target.seq < sender.joined_seq) {
    throw new NatterError('not_found', 'No such message in this conversation.');
  }
  const mayModerate = hasRoles(conversationKind) && sender.role !== 'member';
  const own = target.sender_id === sender.user_id;
  if (!own && !(amend === 'delete' && mayModerate)) {
    throw new NatterError('forbidden', 'Only the sender can change this message.');
  }
}
