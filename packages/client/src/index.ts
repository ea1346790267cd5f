export type { UploadOptions, UploadProgress } from './attachment-upload.js';
export { backoffDelay } from './backoff.js';
export {
  ChatState,
  type ChatStateOptions,
  type MessageStatus,
  type MessageView,
  type NoticeKind,
  type NoticeView,
  type TimelineItem,
} from './chat-state.js';
export { ConversationLog } from './conversation-log.js';
export { NatterHttp, type Session } from './http-api.js';
export { type HttpStreamMode, HttpStreamSocket } from './http-stream-socket.js';
export { IndexedDbOutboxStorage } from './indexeddb-outbox.js';
export type { MemberReceipt, MemberView } from './member-cursors.js';
export {
  type ClientState,
  NatterClient,
  type NatterClientEvents,
  type NatterClientOptions,
  type NetworkSignals,
  type SearchFilters,
  type SendOptions,
} from './natter-client.js';
export { MemoryOutboxStorage, type OutboxEntry, type OutboxState, type OutboxStorage } from './outbox.js';
export type { WebSocketFactory, WebSocketLike } from './socket.js';
export { type SseEvent, SseParser } from './sse-parser.js';
export { ALL_TRANSPORTS, type Transport, TransportPolicy } from './transport-policy.js';
export { TypingNotifier } from './typing-notifier.js';
