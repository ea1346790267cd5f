import { z } from 'zod';
import { attachmentId } from './attachments.js';
import { MAX_ATTACHMENTS, MAX_HELD, MAX_MENTIONS } from './limits.js';
import { NOTIFICATION_LEVELS } from './model.js';

/**
 * Frames a client sends over the WebSocket, as JSON text frames discriminated by `type`.
 * A frame with an `id` is a request: the server answers it with exactly one frame carrying
 * `re: <that id>` (a result, an `ack`, or an `error`). `id` is any client-chosen string.
 */

const requestId = z.string().min(1).max(64);
const conversationId = z.string().min(1).max(64);
const clientMsgId = z.string().min(1).max(64);
const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const pageLimit = z.number().int().min(1).max(100);

export const AuthFrame = z.strictObject({
  type: z.literal('auth'),
  id: requestId.optional(),
  token: z.string().min(1).max(8192),
  /** A stable id for this device or browser tab, echoed on the events it sends; null or omitted: none. */
  device_id: z.string().min(1).max(64).nullable().optional(),
});

export const PingFrame = z.strictObject({ type: z.literal('ping') });
export const PongFrame = z.strictObject({ type: z.literal('pong') });

/**
 * One emoji as Unicode defines it for keyboards (RGI_Emoji: a single emoji, with its skin tone,
 * flag or ZWJ sequence), not text or custom codes. The `v` flag (ES2024) is named through a
 * variable: the TypeScript target (ES2023) would refuse it in a literal. It is compiled on first use,
 * so that importing this module works on engines without the flag (older Safari, Hermes): there the
 * SDK's own check falls back to "some pictographic character" and the server (Node 20) decides.
 */
const UNICODE_SETS: string = 'v';
let rgiEmoji: RegExp | undefined;
function isOneEmoji(s: string): boolean {
  if (!rgiEmoji) {
    try {
      rgiEmoji = new RegExp('^\\p{RGI_Emoji}$', UNICODE_SETS);
    } catch {
      rgiEmoji =
        /^(?=.*\p{Extended_Pictographic})(?:\p{Extended_Pictographic}|\p{Emoji_Component}|\u200d|\ufe0f)+$/u;
    }
  }
  return rgiEmoji.test(s);
}
const emoji = z.string().min(1).max(64).refine(isOneEmoji, 'must be one emoji');
const mention = z.string().min(1).max(128);

export const SendFrame = z.strictObject({
  type: z.literal('send'),
  id: requestId,
  conversation_id: conversationId,
  client_msg_id: clientMsgId,
  body: z.string(),
  /**
   * App-defined data stored and returned with the message, never interpreted by the server: a JSON
   * object of at most MAX_METADATA_BYTES (custom message types, link previews, ...).
   */
  metadata: z.record(z.string(), z.json()).optional(),
  /** What kind of content this is; only `text` (the default) so far. */
  content_type: z.literal('text').optional(),
  /** The seq of the message this answers (same conversation): the event carries a quote of it. */
  reply_to: seq.min(1).optional(),
  /** Sends this as a reply in the thread under the message `thread_root` (same conversation). */
  thread_root: seq.min(1).optional(),
  /** Users this message mentions (current members), and `@all` / `@here`: no duplicates. */
  mentions: z
    .array(mention)
    .max(MAX_MENTIONS)
    .refine((m) => new Set(m).size === m.length, 'must not repeat a mention')
    .optional(),
  /** Uploaded attachments (ids from POST /v1/attachments, uploaded by the sender) this message carries. */
  attachments: z
    .array(attachmentId)
    .min(1)
    .max(MAX_ATTACHMENTS)
    .refine((a) => new Set(a).size === a.length, 'must not repeat an attachment')
    .optional(),
});

/** Adds or removes your reaction `emoji` on the message `target_seq`: one per (user, emoji, message). */
export const ReactFrame = z.strictObject({
  type: z.literal('react'),
  id: requestId,
  conversation_id: conversationId,
  client_msg_id: clientMsgId,
  target_seq: seq.min(1),
  emoji,
  action: z.enum(['add', 'remove']),
});

/** Pins or unpins the message `target_seq` (in a group: admins and owners only). */
export const PinFrame = z.strictObject({
  type: z.literal('pin'),
  id: requestId,
  conversation_id: conversationId,
  client_msg_id: clientMsgId,
  target_seq: seq.min(1),
  action: z.enum(['pin', 'unpin']),
});

/** A page of a thread's replies, ascending: those before `before_thread_seq` (newest page when omitted). */
export const ThreadHistoryFrame = z.strictObject({
  type: z.literal('thread_history'),
  id: requestId,
  conversation_id: conversationId,
  root_seq: seq.min(1),
  before_thread_seq: seq.optional(),
  limit: pageLimit.optional(),
});

/** Moves your read cursor in a thread to `thread_seq` (forward only; you follow the thread from then). */
export const ThreadReadFrame = z.strictObject({
  type: z.literal('thread_read'),
  id: requestId.optional(),
  conversation_id: conversationId,
  root_seq: seq.min(1),
  thread_seq: seq,
});

/** Sets which of a conversation's messages should notify you: all, only those mentioning you, none. */
export const SetNotificationsFrame = z.strictObject({
  type: z.literal('set_notifications'),
  id: requestId,
  conversation_id: conversationId,
  level: z.enum(NOTIFICATION_LEVELS),
});

/**
 * Hides a group you left or were removed from: it leaves your conversation list and sync on every
 * device until you are added again. Only a former member may; anyone else gets `not_found`.
 */
export const HideConversationFrame = z.strictObject({
  type: z.literal('hide_conversation'),
  id: requestId,
  conversation_id: conversationId,
});

export const EditFrame = z.strictObject({
  type: z.literal('edit'),
  id: requestId,
  conversation_id: conversationId,
  client_msg_id: clientMsgId,
  target_seq: seq.min(1),
  body: z.string(),
});

export const DeleteFrame = z.strictObject({
  type: z.literal('delete'),
  id: requestId,
  conversation_id: conversationId,
  client_msg_id: clientMsgId,
  target_seq: seq.min(1),
});

export const SyncFrame = z.strictObject({
  type: z.literal('sync'),
  id: requestId,
  /** The token from your last `sync_result`; omit or null on a new device. */
  since: z.string().max(128).nullable().optional(),
  /** At most this many conversations per page (default 200). */
  limit: z.number().int().min(1).max(500).optional(),
  /**
   * Conversations where you already hold every event up to `seq` (typically received live since
   * `since`): their events up to it are left out of the answer. It only ever shortens the answer.
   */
  held: z
    .array(z.strictObject({ conversation_id: conversationId, seq }))
    .max(MAX_HELD)
    .optional(),
});

export const FetchFrame = z.strictObject({
  type: z.literal('fetch'),
  id: requestId,
  conversation_id: conversationId,
  after_seq: seq,
  limit: pageLimit.optional(),
});

export const HistoryFrame = z.strictObject({
  type: z.literal('history'),
  id: requestId,
  conversation_id: conversationId,
  /** Return events strictly before this seq; omit for the newest page. */
  before_seq: seq.optional(),
  limit: pageLimit.optional(),
});

export const ReceiptFrame = z.strictObject({
  type: z.literal('receipt'),
  id: requestId.optional(),
  conversation_id: conversationId,
  kind: z.enum(['delivered', 'read']),
  seq: seq,
});

export const TypingFrame = z.strictObject({
  type: z.literal('typing'),
  conversation_id: conversationId,
  state: z.enum(['start', 'stop']),
});

export const PresenceSubscribeFrame = z.strictObject({
  type: z.literal('presence_subscribe'),
  id: requestId,
  /** Replaces this connection's presence subscription. Users you share no conversation with are left out. */
  user_ids: z.array(z.string().min(1).max(128)).max(256),
});

/** Longest search query, in characters after trimming. */
export const MAX_SEARCH_QUERY_CHARS = 200;
/** Most words a search query may hold. */
export const MAX_SEARCH_TERMS = 16;
/** Most results one search page returns. */
export const MAX_SEARCH_LIMIT = 50;

/** A point in time as milliseconds since the epoch, or an ISO 8601 date-time string. */
const instant = z.union([
  z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
]);

/**
 * Full-text search over the messages you may read. `query` is plain words (all must match; a word
 * ending in `*` matches as a prefix); any other character is a separator, never query syntax.
 */
export const SearchFrame = z.strictObject({
  type: z.literal('search'),
  id: requestId,
  query: z
    .string()
    .max(MAX_SEARCH_QUERY_CHARS * 4)
    .transform((s) => s.trim())
    .pipe(z.string().min(1).max(MAX_SEARCH_QUERY_CHARS)),
  conversation_id: conversationId.optional(),
  sender_id: z.string().min(1).max(128).optional(),
  /** Only messages sent at or after this time. */
  after: instant.optional(),
  /** Only messages sent before this time. */
  before: instant.optional(),
  limit: z.number().int().min(1).max(MAX_SEARCH_LIMIT).optional(),
  /** `next_cursor` of the previous page of the same search. */
  cursor: z.string().min(1).max(256).optional(),
});

export const ClientFrame = z.discriminatedUnion('type', [
  AuthFrame,
  PingFrame,
  PongFrame,
  SendFrame,
  EditFrame,
  DeleteFrame,
  ReactFrame,
  PinFrame,
  SetNotificationsFrame,
  HideConversationFrame,
  ThreadHistoryFrame,
  ThreadReadFrame,
  SyncFrame,
  FetchFrame,
  HistoryFrame,
  ReceiptFrame,
  TypingFrame,
  PresenceSubscribeFrame,
  SearchFrame,
]);

export type ClientFrame = z.infer<typeof ClientFrame>;
export type ClientFrameType = ClientFrame['type'];
export type ClientFrameOf<T extends ClientFrameType> = Extract<ClientFrame, { type: T }>;

export const CLIENT_FRAME_TYPES = ClientFrame.options.map((o) => o.shape.type.value) as ClientFrameType[];
export type AuthFrame = z.infer<typeof AuthFrame>;
export type SendFrame = z.infer<typeof SendFrame>;
export type EditFrame = z.infer<typeof EditFrame>;
export type DeleteFrame = z.infer<typeof DeleteFrame>;
export type ReactFrame = z.infer<typeof ReactFrame>;
export type PinFrame = z.infer<typeof PinFrame>;
export type SetNotificationsFrame = z.infer<typeof SetNotificationsFrame>;
export type HideConversationFrame = z.infer<typeof HideConversationFrame>;
export type ThreadHistoryFrame = z.infer<typeof ThreadHistoryFrame>;
export type ThreadReadFrame = z.infer<typeof ThreadReadFrame>;
export type SyncFrame = z.infer<typeof SyncFrame>;
export type FetchFrame = z.infer<typeof FetchFrame>;
export type HistoryFrame = z.infer<typeof HistoryFrame>;
export type ReceiptFrame = z.infer<typeof ReceiptFrame>;
export type TypingFrame = z.infer<typeof TypingFrame>;
export type PresenceSubscribeFrame = z.infer<typeof PresenceSubscribeFrame>;
export type SearchFrame = z.infer<typeof SearchFrame>;
