import {
  type AckFrame,
  CLIENT_FRAME_TYPES,
  type ClientFrame,
  type ClientFrameType,
  NatterError,
  type ServerFrame,
} from '@natter/protocol';
import { describe, expect, it } from 'vitest';
import type { Actor, ChatService } from '../../src/chat/chat-service.js';
import type { ConversationService } from '../../src/chat/conversation-service.js';
import type { SearchService } from '../../src/chat/search-service.js';
import type { Connection } from '../../src/gateway/connection.js';
import { createFrameRouter } from '../../src/gateway/frame-router.js';
import type { PresenceService } from '../../src/presence/presence-service.js';
import type { TypingService } from '../../src/presence/typing-service.js';

const actor: Actor = { userId: 'u1', deviceId: 'phone', connectionId: 'conn-1' };
const connection = { id: 'conn-1', userId: 'u1', sendText: () => undefined } as unknown as Connection;

const ACK: AckFrame = {
  type: 'ack',
  re: 'r1',
  conversation_id: 'c1',
  client_msg_id: 'm1',
  seq: 7,
  created_at: 1,
  duplicate: false,
};
const PAGE = { events: [], has_more: true };
const SYNCED = {
  type: 'sync_result' as const,
  conversations: [],
  events: [],
  truncated: [],
  token: 'v1.9',
  has_more: false,
};
const PRESENCE = [{ user_id: 'u2', online: true, last_seen: 5 }];
const FOUND = { results: [], next_cursor: null };

/** Services that record each call (method and arguments) and answer with fixed values. */
function recordingServices() {
  const calls: unknown[][] = [];
  const record =
    <T>(name: string, answer: T) =>
    async (...args: unknown[]): Promise<T> => {
      calls.push([name, ...args]);
      return answer;
    };
  const services = {
    chat: {
      append: record('chat.append', ACK),
      receipt: record('chat.receipt', undefined),
      setNotifications: record('chat.setNotifications', undefined),
      hide: record('chat.hide', undefined),
      threadRead: record('chat.threadRead', undefined),
    },
    conversations: {
      sync: record('conversations.sync', SYNCED),
      fetch: record('conversations.fetch', PAGE),
      history: record('conversations.history', PAGE),
      threadHistory: record('conversations.threadHistory', PAGE),
    },
    presence: { subscribe: record('presence.subscribe', PRESENCE) },
    typing: { typing: record('typing.typing', undefined) },
    search: { search: record('search.search', FOUND) },
  };
  const route = createFrameRouter({
    chat: services.chat as unknown as ChatService,
    conversations: services.conversations as unknown as ConversationService,
    presence: services.presence as unknown as PresenceService,
    typing: services.typing as unknown as TypingService,
    search: services.search as unknown as SearchService,
  });
  return { calls, route };
}

type Case = {
  frame: Exclude<ClientFrame, { type: 'auth' }>;
  call: unknown[] | null;
  answer: ServerFrame | undefined;
};

const send = { type: 'send', id: 'r1', conversation_id: 'c1', client_msg_id: 'm1', body: 'hi' } as const;
const edit = { ...send, type: 'edit', target_seq: 3 } as const;
const del = { type: 'delete', id: 'r1', conversation_id: 'c1', client_msg_id: 'm1', target_seq: 3 } as const;
const receipt = { type: 'receipt', id: 'r5', conversation_id: 'c1', kind: 'read', seq: 4 } as const;
const react = {
  type: 'react',
  id: 'r7',
  conversation_id: 'c1',
  client_msg_id: 'm2',
  target_seq: 3,
  emoji: '👍',
  action: 'add',
} as const;
const pin = {
  type: 'pin',
  id: 'r8',
  conversation_id: 'c1',
  client_msg_id: 'm3',
  target_seq: 3,
  action: 'pin',
} as const;
const threadRead = {
  type: 'thread_read',
  id: 'r10',
  conversation_id: 'c1',
  root_seq: 3,
  thread_seq: 2,
} as const;
const notifications = {
  type: 'set_notifications',
  id: 'r9',
  conversation_id: 'c1',
  level: 'mentions',
} as const;

const hide = { type: 'hide_conversation', id: 'r13', conversation_id: 'c1' } as const;

const search = { type: 'search', id: 'r12', query: 'hello', conversation_id: 'c1', limit: 5 } as const;

/** Every frame type an authenticated connection may send: the call it makes and what it answers. */
const CASES: Record<Exclude<ClientFrameType, 'auth'>, Case> = {
  ping: { frame: { type: 'ping' }, call: null, answer: { type: 'pong' } },
  search: {
    frame: search,
    call: ['search.search', 'u1', { query: 'hello', conversation_id: 'c1', limit: 5 }],
    answer: { type: 'search_result', re: 'r12', ...FOUND },
  },
  pong: { frame: { type: 'pong' }, call: null, answer: undefined },
  send: { frame: send, call: ['chat.append', actor, send], answer: ACK },
  edit: { frame: edit, call: ['chat.append', actor, edit], answer: ACK },
  delete: { frame: del, call: ['chat.append', actor, del], answer: ACK },
  react: { frame: react, call: ['chat.append', actor, react], answer: ACK },
  pin: { frame: pin, call: ['chat.append', actor, pin], answer: ACK },
  thread_history: {
    frame: {
      type: 'thread_history',
      id: 'r11',
      conversation_id: 'c1',
      root_seq: 3,
      before_thread_seq: 7,
      limit: 5,
    },
    call: ['conversations.threadHistory', 'u1', 'c1', 3, 7, 5],
    answer: { type: 'events', re: 'r11', conversation_id: 'c1', ...PAGE },
  },
  thread_read: {
    frame: threadRead,
    call: ['chat.threadRead', actor, threadRead],
    answer: { type: 'ok', re: 'r10' },
  },
  set_notifications: {
    frame: notifications,
    call: ['chat.setNotifications', actor, notifications],
    answer: { type: 'ok', re: 'r9' },
  },
  hide_conversation: {
    frame: hide,
    call: ['chat.hide', actor, hide],
    answer: { type: 'ok', re: 'r13' },
  },
  sync: {
    frame: {
      type: 'sync',
      id: 'r2',
      since: 'v1.3',
      limit: 10,
      held: [
        { conversation_id: 'c1', seq: 4 },
        { conversation_id: 'c2', seq: 8 },
      ],
    },
    call: [
      'conversations.sync',
      'u1',
      'v1.3',
      10,
      new Map([
        ['c1', 4],
        ['c2', 8],
      ]),
    ],
    answer: { ...SYNCED, re: 'r2' },
  },
  fetch: {
    frame: { type: 'fetch', id: 'r3', conversation_id: 'c1', after_seq: 5, limit: 20 },
    call: ['conversations.fetch', 'u1', 'c1', 5, 20],
    answer: { type: 'events', re: 'r3', conversation_id: 'c1', ...PAGE },
  },
  history: {
    frame: { type: 'history', id: 'r4', conversation_id: 'c1', before_seq: 9, limit: 30 },
    call: ['conversations.history', 'u1', 'c1', 9, 30],
    answer: { type: 'events', re: 'r4', conversation_id: 'c1', ...PAGE },
  },
  receipt: { frame: receipt, call: ['chat.receipt', actor, receipt], answer: { type: 'ok', re: 'r5' } },
  typing: {
    frame: { type: 'typing', conversation_id: 'c1', state: 'start' },
    call: ['typing.typing', 'u1', 'c1', 'start'],
    answer: undefined,
  },
  presence_subscribe: {
    frame: { type: 'presence_subscribe', id: 'r6', user_ids: ['u2', 'u3'] },
    call: ['presence.subscribe', connection, ['u2', 'u3']],
    answer: { type: 'presence_result', re: 'r6', presence: PRESENCE },
  },
};

describe('frame router', () => {
  it('covers every frame type but auth', () => {
    expect(Object.keys(CASES).sort()).toEqual(CLIENT_FRAME_TYPES.filter((t) => t !== 'auth').sort());
  });

  it.each(Object.entries(CASES))(
    '%s reaches its service with its arguments and gets its answer',
    async (_, c) => {
      const { calls, route } = recordingServices();
      expect(await route(c.frame, actor, connection)).toEqual(c.answer);
      expect(calls).toEqual(c.call === null ? [] : [c.call]);
    },
  );

  it('a sync without a token, limit or held passes none, and holds nothing', async () => {
    const { calls, route } = recordingServices();
    await route({ type: 'sync', id: 'r7' }, actor, connection);
    expect(calls).toEqual([['conversations.sync', 'u1', undefined, undefined, new Map()]]);
  });

  it('a history without before_seq asks for the newest page', async () => {
    const { calls, route } = recordingServices();
    await route({ type: 'history', id: 'r8', conversation_id: 'c1' }, actor, connection);
    expect(calls).toEqual([['conversations.history', 'u1', 'c1', undefined, undefined]]);
  });

  it('a receipt without an id is applied and not answered', async () => {
    const { id: _, ...silent } = receipt;
    const { calls, route } = recordingServices();
    expect(await route(silent, actor, connection)).toBeUndefined();
    expect(calls).toEqual([['chat.receipt', actor, silent]]);
  });

  it('a service error reaches the gateway unchanged, to be answered as an error frame', async () => {
    const refusal = new NatterError('not_found');
    const route = createFrameRouter({
      chat: {
        append: async () => {
          throw refusal;
        },
      } as unknown as ChatService,
      conversations: {} as ConversationService,
      presence: {} as PresenceService,
      typing: {} as TypingService,
      search: {} as SearchService,
    });
    await expect(route(send, actor, connection)).rejects.toBe(refusal);
  });
});
