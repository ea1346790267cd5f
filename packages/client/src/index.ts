export { backoffDelay } from './backoff.js';
export { ConversationLog } from './conversation-log.js';
export {
  type ClientState,
  NatterClient,
  type NatterClientEvents,
  type NatterClientOptions,
} from './natter-client.js';
export { MemoryOutboxStorage, type OutboxEntry, type OutboxState, type OutboxStorage } from './outbox.js';
export type { WebSocketFactory, WebSocketLike } from './socket.js';
