import type { ChatEvent, EventData, EventKind } from '@natter/protocol';

/**
 * The `events` row as the driver returns it (int8 as numbers, jsonb parsed), and its wire mapping.
 * The conversation and member rows are shared with SQLite (see ../log-rows.ts).
 */

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
