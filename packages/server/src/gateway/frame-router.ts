import type { ClientFrame, ClientFrameOf, ClientFrameType, ServerFrame } from '@natter/protocol';
import type { Actor, ChatService } from '../chat/chat-service.js';
import type { ConversationService } from '../chat/conversation-service.js';
import type { SearchService } from '../chat/search-service.js';
import type { PresenceService } from '../presence/presence-service.js';
import type { TypingService } from '../presence/typing-service.js';
import type { Connection } from './connection.js';

export interface RouterServices {
  chat: ChatService;
  conversations: ConversationService;
  presence: PresenceService;
  typing: TypingService;
  search: SearchService;
}

type Handler<T extends ClientFrameType> = (
  frame: ClientFrameOf<T>,
  actor: Actor,
  connection: Connection,
) => Promise<ServerFrame | undefined>;

type Handlers = { [T in Exclude<ClientFrameType, 'auth'>]: Handler<T> };

/** What each frame of an authenticated connection does. The answer, if any, goes back on that connection. */
export function createFrameRouter(services: RouterServices) {
  const { chat, conversations, presence, typing, search } = services;
  const handlers: Handlers = {
    ping: async () => ({ type: 'pong' }),
    pong: async () => undefined,
    send: (frame, actor) => chat.append(actor, frame),
    edit: (frame, actor) => chat.append(actor, frame),
    delete: (frame, actor) => chat.append(actor, frame),
    react: (frame, actor) => chat.append(actor, frame),
    pin: (frame, actor) => chat.append(actor, frame),
    thread_history: async (frame, actor) => {
      const page = await conversations.threadHistory(
        actor.userId,
        frame.conversation_id,
        frame.root_seq,
        frame.before_thread_seq,
        frame.limit,
      );
      return { type: 'events', re: frame.id, conversation_id: frame.conversation_id, ...page };
    },
    thread_read: async (frame, actor) => {
      await chat.threadRead(actor, frame);
      return frame.id === undefined ? undefined : { type: 'ok', re: frame.id };
    },
    set_notifications: async (frame, actor) => {
      await chat.setNotifications(actor, frame);
      return { type: 'ok', re: frame.id };
    },
    hide_conversation: async (frame, actor) => {
      await chat.hide(actor, frame);
      return { type: 'ok', re: frame.id };
    },
    sync: async (frame, actor) => {
      const held = new Map(frame.held?.map((h) => [h.conversation_id, h.seq]));
      return { ...(await conversations.sync(actor.userId, frame.since, frame.limit, held)), re: frame.id };
    },
    fetch: async (frame, actor) => {
      const page = await conversations.fetch(
        actor.userId,
        frame.conversation_id,
        frame.after_seq,
        frame.limit,
      );
      return { type: 'events', re: frame.id, conversation_id: frame.conversation_id, ...page };
    },
    history: async (frame, actor) => {
      const page = await conversations.history(
        actor.userId,
        frame.conversation_id,
        frame.before_seq,
        frame.limit,
      );
      return { type: 'events', re: frame.id, conversation_id: frame.conversation_id, ...page };
    },
    receipt: async (frame, actor) => {
      await chat.receipt(actor, frame);
      return frame.id === undefined ? undefined : { type: 'ok', re: frame.id };
    },
    typing: async (frame, actor) => {
      await typing.typing(actor.userId, frame.conversation_id, frame.state);
      return undefined;
    },
    search: async ({ type: _type, id, ...request }, actor) => ({
      type: 'search_result',
      re: id,
      ...(await search.search(actor.userId, request)),
    }),
    presence_subscribe: async (frame, _actor, connection) => ({
      type: 'presence_result',
      re: frame.id,
      presence: await presence.subscribe(connection, frame.user_ids),
    }),
  };

  return (frame: Exclude<ClientFrame, { type: 'auth' }>, actor: Actor, connection: Connection) =>
    (handlers[frame.type] as Handler<typeof frame.type>)(frame as never, actor, connection);
}
