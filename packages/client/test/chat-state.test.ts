import type { AckFrame } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  api,
  createDirect,
  signToken,
  startTestServer,
  type TestServer,
  uid,
  until,
} from '../../server/test/helpers/server.js';
import { ChatState, NatterClient, TypingNotifier } from '../src/index.js';
import type { WebSocketLike } from '../src/socket.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ typingMinIntervalMs: 0 });
});

afterAll(async () => {
  await server?.dispose();
});

async function live(user: string) {
  const client = new NatterClient({
    url: server.wsUrl,
    token: () => signToken(user),
    webSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
  });
  const state = new ChatState(client);
  await client.connect();
  await until(() => client.state === 'live');
  return { client, state };
}

describe('ChatState folds the live log into what an app renders', () => {
  it('keeps the messages of a conversation you are added to before its summary arrives', async () => {
    const [owner, late] = [uid('owner'), uid('late')];
    const l = await live(late);
    const created = await api<{ conversation: { conversation_id: string } }>(
      server.httpUrl,
      'POST',
      '/v1/conversations',
      {
        token: await signToken(owner),
        body: { title: 'surprise', member_ids: [late] },
      },
    );
    const conv = created.body.conversation.conversation_id;
    const o = await live(owner);
    await o.client.send(conv, 'welcome');
    await until(() => l.state.messages(conv).some((m) => m.body === 'welcome'));
    expect(l.state.conversation(conv)?.title).toBe('surprise');
    o.client.close();
    l.client.close();
  });

  it('shows ticks going sending -> delivered -> read, unread counts, edits, deletions and typing', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await createDirect(server.httpUrl, alice, bob);
    const a = await live(alice);
    const b = await live(bob);

    await a.client.send(conv, 'one');
    expect(a.state.messages(conv).map((m) => [m.body, m.status])).toEqual([['one', 'sending']]);
    await a.client.send(conv, 'two');
    await a.client.send(conv, 'three');

    await until(() => b.state.messages(conv).length === 3);
    expect(b.state.conversation(conv)?.unread).toBe(3);
    await until(() => a.state.messages(conv).every((m) => m.status === 'delivered'));
    expect(a.state.messages(conv).map((m) => m.body)).toEqual(['one', 'two', 'three']);

    b.state.markRead(conv);
    await until(() => a.state.messages(conv).every((m) => m.status === 'read'));
    await until(() => b.state.conversation(conv)?.unread === 0);

    const second = a.state.messages(conv)[1]!;
    const edit = await a.client.request<AckFrame>({
      type: 'edit',
      conversation_id: conv,
      client_msg_id: 'edit-1',
      target_seq: second.seq,
      body: 'two (edited)',
    });
    expect(edit.type).toBe('ack');
    await a.client.request<AckFrame>({
      type: 'delete',
      conversation_id: conv,
      client_msg_id: 'delete-1',
      target_seq: a.state.messages(conv)[0]!.seq,
    });
    await until(
      () => b.state.messages(conv)[1]?.body === 'two (edited)' && b.state.messages(conv)[0]!.deleted,
    );
    expect(b.state.messages(conv).map((m) => [m.body, m.edited, m.deleted])).toEqual([
      [null, false, true],
      ['two (edited)', true, false],
      ['three', false, false],
    ]);

    const notifier = new TypingNotifier((s) => a.client.typing(conv, s));
    notifier.keystroke();
    await until(() => b.state.typingIn(conv).includes(alice));
    notifier.stop();
    await until(() => b.state.typingIn(conv).length === 0);

    expect(b.state.conversations()[0]?.conversation_id).toBe(conv);

    const now = await a.client.watchPresence([bob, uid('stranger')]);
    expect(now.map((p) => [p.user_id, p.online])).toEqual([[bob, true]]);
    await until(() => a.state.presenceOf(bob)?.online === true);
    b.client.close();
    await until(() => a.state.presenceOf(bob)?.online === false);
    expect(a.state.presenceOf(bob)?.last_seen).toBeGreaterThan(0);
    a.client.close();
  });
});
