import type { ChatEvent, EventData, EventKind } from '@natter/protocol';

/**
 * The `events` row as better-sqlite3 returns it (data as JSON text, deleted as 0/1), and its wire
 * mapping. The conversation and member rows are shared with PostgreSQL (see ../log-rows.ts).
 */

export interface EventRow {
  conversation_id: string;
  seq: number;
  pos: number;
  kind: string;
  sender_id: string;
  device_id: string | null;
  client_msg_id: string | null;
  body: string | null;
  ref_seq: number | null;
  reply_seq: number | null;
  thread_root: number | null;
  thread_seq: number | null;
  data: string | null;
  deleted: number;
  created_at: number;
}

export function toChatEvent(row: EventRow): ChatEvent {
  return {
    conversation_id: row.conversation_id,
    seq: row.seq,
    kind: row.kind as EventKind,
    sender_id: row.sender_id,
    device_id: row.device_id,
    client_msg_id: row.client_msg_id,
    body: row.body,
    ref_seq: row.ref_seq,
    data: row.data === null ? null : (JSON.parse(row.data) as EventData),
    deleted: row.deleted === 1,
    created_at: row.created_at,
  };
}
