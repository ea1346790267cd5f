import type { ErrorCode } from './errors.js';
import type { ChatEvent, ConversationSummary, PresenceState } from './model.js';

/** Frames the server sends, as JSON text frames discriminated by `type`. */

/** Limits the server enforces, announced in `ready` so a client can respect them up front. */
export interface Limits {
  max_frame_bytes: number;
  max_body_bytes: number;
  sends_per_second: number;
  send_burst: number;
}

/** Answer to `auth`: the connection is live. Events are pushed from now on. */
export interface ReadyFrame {
  type: 'ready';
  re?: string;
  user_id: string;
  device_id: string | null;
  connection_id: string;
  /** The server pings this often; answer each ping with a pong. */
  heartbeat_interval_ms: number;
  /** The server closes a connection it has heard nothing from for this long. */
  heartbeat_timeout_ms: number;
  server_time: number;
  limits: Limits;
}

/** Answer to send, edit and delete: the event is durably stored with this seq. */
export interface AckFrame {
  type: 'ack';
  re: string;
  conversation_id: string;
  client_msg_id: string;
  seq: number;
  created_at: number;
  /** true when this client_msg_id had been stored before: the original seq is returned. */
  duplicate: boolean;
  /**
   * The stored event, when it carries what only the server knows: on the ack of a `react` (the
   * count), a `pin`, and a `send` with `reply_to` (the quote). Otherwise absent: build the event
   * from what you sent (the server does not echo it to the sending connection).
   */
  event?: ChatEvent;
}

export interface SyncResultFrame {
  type: 'sync_result';
  re: string;
  /** Conversations that changed since the token (all of them when no token was given). */
  conversations: ConversationSummary[];
  /**
   * Events committed after the token in those conversations: grouped by conversation in the order
   * of `conversations`, ascending by seq within each, at most NATTER_SYNC_EVENTS_PER_CONVERSATION
   * (default 100) each. Empty for a sync without a token.
   */
  events: ChatEvent[];
  /** Conversations whose new events did not all fit: continue each with `fetch` from its last event. */
  truncated: string[];
  /** Resume only, present when non-empty: conversations you hid since the token (drop them). */
  hidden?: string[];
  /** Keep this and present it at the next sync. */
  token: string;
  /** More changed conversations remain: sync again at once with the new token. */
  has_more: boolean;
}

/** Answer to fetch, history and thread_history: a page of events ascending by seq. */
export interface EventsFrame {
  type: 'events';
  re: string;
  conversation_id: string;
  events: ChatEvent[];
  /** fetch: more events after the last one; history, thread_history: more events before the first one. */
  has_more: boolean;
}

/** One message a search found. */
export interface SearchHit {
  conversation_id: string;
  seq: number;
  sender_id: string;
  /** When it was sent (ms since the epoch). */
  sent_at: number;
  /** Its current text, or a window of it around the first match (`…` marks a cut). */
  snippet: string;
  /** Matched words in `snippet`, as [start, end) offsets in UTF-16 code units, ascending. */
  highlights: Array<[number, number]>;
  /** For a reply in a thread: the seq of the thread's root message. */
  thread_root?: number;
}

/** Answer to `search`: the best matches first. */
export interface SearchResultFrame {
  type: 'search_result';
  re: string;
  results: SearchHit[];
  /** Present it as `cursor` (same query and filters) for the next page; null: no more. */
  next_cursor: string | null;
}

export interface PresenceResultFrame {
  type: 'presence_result';
  re: string;
  presence: PresenceState[];
}

export interface OkFrame {
  type: 'ok';
  re: string;
}

export interface ErrorFrame {
  type: 'error';
  /** The request this answers; absent for errors about a frame that had no id. */
  re?: string;
  code: ErrorCode;
  message: string;
  retryable: boolean;
  retry_after_ms?: number;
}

/** A new event of a conversation you are a member of. */
export interface EventFrame {
  type: 'event';
  event: ChatEvent;
}

/** A member's cursors moved (including your own, from another of your devices). */
export interface ReceiptUpdateFrame {
  type: 'receipt';
  conversation_id: string;
  user_id: string;
  delivered_seq: number;
  read_seq: number;
}

/** Your thread read cursor moved (from this or another of your devices): sent to your devices only. */
export interface ThreadReceiptFrame {
  type: 'thread_receipt';
  conversation_id: string;
  root_seq: number;
  read_seq: number;
  /** Replies by others after it, not deleted, as of the move. */
  unread: number;
}

/** You hid a conversation (from this or another of your devices): sent to your devices only. */
export interface ConversationHiddenFrame {
  type: 'conversation_hidden';
  conversation_id: string;
}

export interface TypingUpdateFrame {
  type: 'typing';
  conversation_id: string;
  user_id: string;
  state: 'start' | 'stop';
  /** For `start`: treat it as stopped after this long without another start. */
  ttl_ms: number;
}

export interface PresenceUpdateFrame extends PresenceState {
  type: 'presence';
}

/** Heartbeat. `token` is your newest change token: if it differs from yours, run a sync. */
export interface ServerPingFrame {
  type: 'ping';
  token: string;
}

export interface ServerPongFrame {
  type: 'pong';
}

/** Sent before the server closes a connection it wants you to re-establish (e.g. a restart). */
export interface ReconnectFrame {
  type: 'reconnect';
  reason: ErrorCode;
  retry_after_ms: number;
}

export type ServerFrame =
  | ReadyFrame
  | AckFrame
  | SyncResultFrame
  | EventsFrame
  | PresenceResultFrame
  | SearchResultFrame
  | OkFrame
  | ErrorFrame
  | EventFrame
  | ReceiptUpdateFrame
  | ThreadReceiptFrame
  | ConversationHiddenFrame
  | TypingUpdateFrame
  | PresenceUpdateFrame
  | ServerPingFrame
  | ServerPongFrame
  | ReconnectFrame;

export type ServerFrameType = ServerFrame['type'];
