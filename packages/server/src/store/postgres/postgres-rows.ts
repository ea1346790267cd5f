import type { ChatEvent, ConversationKind, EventData, EventKind, Role } from '@natter/protocol';

/** Row shapes as the driver returns them (int8 as numbers, jsonb parsed), and their wire mapping. */

/** An `events` row; its stored position is read only where a query names it. */
export interface EventRow {
  conversation_id: string;
  seq: number;
  kind: EventKind;
  sender_id: string;
  device_id: string | null;
  client_msg_id: string | null;
  body: string | null;
  ref_seq: number | null;
  data: EventData | null;
  deleted: boolean;
  created_at: number;
}

export interface ConversationRow {
  id: string;
  kind: ConversationKind;
  title: string | null;
  last_seq: number;
  change_pos: number;
  member_count: number;
  created_at: number;
  updated_at: number;
}

export interface MemberRow {
  conversation_id: string;
  user_id: string;
  role: Role;
  joined_seq: number;
  left_seq: number | null;
  left_pos: number | null;
  delivered_seq: number;
  read_seq: number;
}

export function toChatEvent(row: EventRow): ChatEvent {
  return {
    conversation_id: row.conversation_id,
    seq: row.seq,
    kind: row.kind,
    sender_id: row.sender_id,
    device_id: row.device_id,
    client_msg_id: row.client_msg_id,
    body: row.body,
    ref_seq: row.ref_seq,
    data: row.data,
    deleted: row.deleted,
    created_at: row.created_at,
  };
}
