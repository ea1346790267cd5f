/**
 * The shapes of the things Natter stores and returns: events of a conversation's log, conversation
 * summaries, receipts and presence. Field names are the wire names (snake_case).
 */

export const EVENT_KINDS = [
  'created',
  'message',
  'edit',
  'delete',
  'member_added',
  'member_removed',
  'member_left',
  'role_changed',
  'renamed',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export const ROLES = ['owner', 'admin', 'member'] as const;
export type Role = (typeof ROLES)[number];

export type ConversationKind = 'direct' | 'group';

/** Data carried by membership and rename events, and a message's metadata. */
export interface EventData {
  /** member_added, member_removed, member_left, role_changed: the member concerned. */
  user_id?: string;
  /** member_added, role_changed, created: the role given. */
  role?: Role;
  /** created, renamed: the title. */
  title?: string | null;
  /** created: the members the conversation started with. */
  member_ids?: string[];
  /** message: the app-defined object sent with it (wiped, like the body, when it is deleted). */
  metadata?: Record<string, unknown>;
}

/**
 * One entry of a conversation's log. `(conversation_id, seq)` identifies it; `seq` runs 1, 2, 3, ...
 * without gaps in commit order. `created_at` is the server's clock (ms since the epoch) and is for
 * display only, never for ordering.
 */
export interface ChatEvent {
  conversation_id: string;
  seq: number;
  kind: EventKind;
  sender_id: string;
  /** The device the sender named in its auth frame, if any. */
  device_id: string | null;
  /** The sender's idempotency key (message, edit, delete); null for events the server makes. */
  client_msg_id: string | null;
  /** message, edit: the text. Null when the message was deleted, and for other kinds. */
  body: string | null;
  /** edit, delete: the seq of the message this event supersedes. */
  ref_seq: number | null;
  data: EventData | null;
  /** true on a message (or edit) whose content was deleted by a later `delete` event. */
  deleted: boolean;
  created_at: number;
}

/** How a user sees one conversation: what they need to render a conversation list. */
export interface ConversationSummary {
  conversation_id: string;
  kind: ConversationKind;
  title: string | null;
  /** direct only: the other participant (equal to your own id in a conversation with yourself). */
  peer_id: string | null;
  role: Role;
  member_count: number;
  /** The newest seq you can see (for a former member: the seq of the event that removed you). */
  last_seq: number;
  /** The first seq you can see: history before you joined stays hidden. */
  joined_seq: number;
  /** Set when you are no longer a member: the seq of your removal (or leaving). */
  left_seq: number | null;
  /** Your cursors ("up to seq N"): they only move forward. */
  read_seq: number;
  delivered_seq: number;
  /** Messages from others after your read cursor (capped at 9999). */
  unread: number;
  /** The lowest read / delivered cursor among the other current members: "everyone has read up to". */
  peers_read_seq: number;
  peers_delivered_seq: number;
  /** The newest message (kind `message`) you can see, for the list preview. */
  last_message: ChatEvent | null;
  created_at: number;
  /** Server time of the newest event you can see (ms): order conversation lists by it. */
  updated_at: number;
}

export interface MemberInfo {
  user_id: string;
  role: Role;
  joined_seq: number;
  delivered_seq: number;
  read_seq: number;
}

export interface PresenceState {
  user_id: string;
  online: boolean;
  /** ms since the epoch of the last heartbeat seen; null if never seen. */
  last_seen: number | null;
}

/** What others may know of a user: for showing names. JWT users have no username. */
export interface UserProfile {
  user_id: string;
  username: string | null;
  display_name: string | null;
}
