import type { ChatEvent } from '@natter/protocol';
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
import {
  ChatState,
  MemoryOutboxStorage,
  type MessageView,
  NatterClient,
  type NatterClientOptions,
} from '../src/index.js';
import type { WebSocketLike } from '../src/socket.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ pingIntervalMs: 200 });
});

afterAll(async () => {
  await server?.dispose();
});

function client(user: string, extra: Partial<NatterClientOptions> = {}) {
  const c = new NatterClient({
    url: server.wsUrl,
    token: () => signToken(user),
    webSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
    ...extra,
  });
  const events: ChatEvent[] = [];
  c.on('event', (e) => events.push(e));
  return { c, events };
}

const messages = (events: ChatEvent[], conversation: string) =>
  events.filter((e) => e.conversation_id === conversation && e.kind === 'message');

describe('NatterClient against the real server', () => {
  it('goes live, sends, and both sides see every message exactly once in seq order', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await createDirect(server.httpUrl, alice, bob);
    const a = client(alice);
    const b = client(bob);
    await a.c.connect();
    await b.c.connect();
    await until(() => a.c.state === 'live' && b.c.state === 'live');
    for (let i = 0; i < 30; i++) await a.c.send(conv, `hello ${i}`);
    await until(() => messages(b.events, conv).length === 30 && messages(a.events, conv).length === 30);
    for (const seen of [a.events, b.events]) {
      const seqs = messages(seen, conv).map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size).toBe(30);
      expect(messages(seen, conv).map((e) => e.body)).toEqual(
        Array.from({ length: 30 }, (_, i) => `hello ${i}`),
      );
    }
    a.c.close();
    b.c.close();
  });

  it('resumes with its saved token after being away, getting exactly what it missed', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await createDirect(server.httpUrl, alice, bob);
    const b1 = client(bob);
    await b1.c.connect();
    await until(() => b1.c.state === 'live');
    const saved = b1.c.syncToken;
    b1.c.close();
    const a = client(alice);
    await a.c.connect();
    await until(() => a.c.state === 'live');
    for (let i = 0; i < 20; i++) await a.c.send(conv, `while away ${i}`);
    await until(() => messages(a.events, conv).length === 20);
    const b2 = client(bob, saved === undefined ? {} : { syncToken: saved });
    await b2.c.connect();
    await until(() => messages(b2.events, conv).length === 20);
    expect(messages(b2.events, conv).map((e) => e.body)).toEqual(
      Array.from({ length: 20 }, (_, i) => `while away ${i}`),
    );
    // Exactly what it missed: nothing from before the saved token is replayed.
    expect(b2.events.filter((e) => e.conversation_id === conv)).toHaveLength(20);
    a.c.close();
    b2.c.close();
  });

  it('a member added later learns of the conversation at once and gets everything from their join', async () => {
    const [owner, late] = [uid('owner'), uid('late')];
    const group = await api<{ conversation: { conversation_id: string } }>(
      server.httpUrl,
      'POST',
      '/v1/conversations',
      {
        token: await signToken(owner),
        body: { title: 'g', member_ids: [] },
      },
    );
    const conv = group.body.conversation.conversation_id;
    const o = client(owner);
    const l = client(late);
    await o.c.connect();
    await l.c.connect();
    await until(() => o.c.state === 'live' && l.c.state === 'live');
    for (let i = 0; i < 3; i++) await o.c.send(conv, `before ${i}`);
    await until(() => messages(o.events, conv).length === 3);
    const added = await api<{ seq: number }>(server.httpUrl, 'POST', `/v1/conversations/${conv}/members`, {
      token: await signToken(owner),
      body: { user_id: late },
    });
    for (let i = 0; i < 3; i++) await o.c.send(conv, `after ${i}`);
    await until(() => messages(l.events, conv).length === 3);
    const seen = l.events.filter((e) => e.conversation_id === conv);
    expect(seen[0]).toMatchObject({ kind: 'member_added', seq: added.body.seq });
    expect(messages(l.events, conv).map((e) => e.body)).toEqual(['after 0', 'after 1', 'after 2']);
    o.c.close();
    l.c.close();
  });

  it('a permanently refused send becomes failed with the error', async () => {
    const user = uid('lonely');
    const c = client(user);
    const outcomes: string[] = [];
    c.c.on('outbox', (entry) => outcomes.push(`${entry.state}${entry.error ? `:${entry.error.code}` : ''}`));
    await c.c.connect();
    await until(() => c.c.state === 'live');
    await c.c.send('c_does-not-exist', 'hello?');
    await until(() => outcomes.includes('failed:not_found'));
    c.c.close();
  });

  it('edits and deletes: the author sees them at once (no server echo), the peer live, folded alike', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await createDirect(server.httpUrl, alice, bob);
    const a = client(alice);
    const b = client(bob);
    const [aState, bState] = [new ChatState(a.c), new ChatState(b.c)];
    await a.c.connect();
    await b.c.connect();
    await until(() => a.c.state === 'live' && b.c.state === 'live');
    await a.c.send(conv, 'frist');
    await a.c.send(conv, 'oops');
    await until(() => messages(b.events, conv).length === 2);
    const [first, second] = messages(a.events, conv);
    const edit = await a.c.edit(conv, first!.seq, 'first');
    const removal = await a.c.deleteMessage(conv, second!.seq);
    // The author's own edit and delete are emitted on the ack, before any resync could bring them.
    expect(a.events.filter((e) => e.seq === edit.seq || e.seq === removal.seq).map((e) => e.kind)).toEqual([
      'edit',
      'delete',
    ]);
    const shown = (state: ChatState) =>
      state.messages(conv).map((m) => ({ body: m.body, edited: m.edited, deleted: m.deleted }));
    const expected = [
      { body: 'first', edited: true, deleted: false },
      { body: null, edited: false, deleted: true },
    ];
    expect(shown(aState)).toEqual(expected);
    await until(() => shown(bState)[1]?.deleted === true);
    expect(shown(bState)).toEqual(expected);
    // The list preview follows: the newest message was deleted, so no old text is left in it.
    for (const state of [aState, bState]) {
      expect(state.conversation(conv)?.last_message).toMatchObject({
        seq: second!.seq,
        body: null,
        deleted: true,
      });
    }
    await expect(a.c.edit(conv, 9999, 'nothing there')).rejects.toMatchObject({ code: 'not_found' });
    for (const state of [aState, bState]) state.close();
    a.c.close();
    b.c.close();
  });

  it('shows messages queued in storage as yours, before the first connection is up', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await createDirect(server.httpUrl, alice, bob);
    const outbox = new MemoryOutboxStorage();
    await outbox.save({
      clientMsgId: 'queued-1',
      conversationId: conv,
      body: 'from last time',
      createdAt: 1,
      state: 'sending',
    });
    const a = client(alice, { outbox, userId: alice });
    const state = new ChatState(a.c);
    let beforeConnecting: MessageView[] | undefined;
    a.c.on('state', (now) => {
      if (now === 'connecting') beforeConnecting ??= state.messages(conv);
    });
    await a.c.connect();
    expect(beforeConnecting).toMatchObject([{ body: 'from last time', status: 'sending', senderId: alice }]);
    await until(() => state.messages(conv)[0]?.status === 'sent');
    expect(messages(a.events, conv).map((e) => e.client_msg_id)).toEqual(['queued-1']);
    state.close();
    a.c.close();
  });
  it('after a drop, its resume carries only what it missed, not what it got live', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conversations: string[] = [];
    for (let i = 0; i < 6; i++) conversations.push(await createDirect(server.httpUrl, alice, uid('peer')));
    const syncResults: Array<{ events: ChatEvent[] }> = [];
    const sockets: WebSocket[] = [];
    let unreachable = false;
    const a = client(alice, {
      webSocket: (url) => {
        // While unreachable, connections go to a closed port and fail, as with a network outage.
        const ws = new WebSocket(unreachable ? 'ws://127.0.0.1:9/ws' : url);
        ws.on('message', (data) => {
          const frame = JSON.parse(String(data)) as { type: string; events?: ChatEvent[] };
          if (frame.type === 'sync_result') syncResults.push({ events: frame.events ?? [] });
        });
        sockets.push(ws);
        return ws as unknown as WebSocketLike;
      },
    });
    const writer = client(bob);
    await a.c.connect();
    await until(() => a.c.state === 'live');
    // Each peer writes 20 messages, received live.
    const peers = await Promise.all(
      conversations.map(async (conv) => {
        const res = await api<{ conversation: { peer_id: string } }>(
          server.httpUrl,
          'GET',
          `/v1/conversations/${conv}`,
          {
            token: await signToken(alice),
          },
        );
        return { conv, peer: res.body.conversation.peer_id };
      }),
    );
    const senders = peers.map(({ peer }) => client(peer));
    for (const s of senders) await s.c.connect();
    await until(() => senders.every((s) => s.c.state === 'live'));
    for (let i = 0; i < 20; i++)
      for (const [k, s] of senders.entries()) await s.c.send(peers[k]!.conv, `live ${i}`);
    await until(() => conversations.every((conv) => messages(a.events, conv).length === 20));
    const held = new Map(conversations.map((conv) => [conv, messages(a.events, conv).at(-1)!.seq]));

    // The connection drops; three conversations move on meanwhile.
    const before = syncResults.length;
    unreachable = true;
    sockets.at(-1)!.terminate();
    await until(() => a.c.state !== 'live');
    for (let i = 0; i < 4; i++)
      for (const [k, s] of senders.slice(0, 3).entries()) await s.c.send(peers[k]!.conv, `missed ${i}`);
    await until(() =>
      senders.slice(0, 3).every((sender, k) => messages(sender.events, peers[k]!.conv).length === 24),
    );
    unreachable = false;
    await until(() => a.c.state === 'live', 15_000);
    await until(() => conversations.slice(0, 3).every((conv) => messages(a.events, conv).length === 24));

    const resumed = syncResults.slice(before).flatMap((r) => r.events);
    const redundant = resumed.filter((e) => e.seq <= (held.get(e.conversation_id) ?? 0));
    expect(redundant).toEqual([]);
    expect(resumed.filter((e) => e.kind === 'message')).toHaveLength(12);
    for (const conv of conversations) {
      const seqs = messages(a.events, conv).map((e) => e.seq);
      expect(new Set(seqs).size).toBe(seqs.length);
    }
    for (const s of [a, writer, ...senders]) s.c.close();
  });
});
