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
import { NatterClient, type NatterClientOptions } from '../src/index.js';
import type { WebSocketLike } from '../src/socket.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ pingIntervalMs: 200 });
});

afterAll(async () => {
  await server?.dispose();
});

/** Sockets the test can cut, as a flaky network would. */
function cuttableSockets() {
  const open = new Set<WebSocket>();
  const factory = (url: string) => {
    const ws = new WebSocket(url);
    open.add(ws);
    ws.on('close', () => open.delete(ws));
    return ws as unknown as WebSocketLike;
  };
  const cut = () => {
    for (const ws of open) ws.terminate();
  };
  return { factory, cut };
}

function client(user: string, extra: Partial<NatterClientOptions> = {}) {
  const sockets = cuttableSockets();
  const c = new NatterClient({
    url: server.wsUrl,
    token: () => signToken(user),
    webSocket: sockets.factory,
    ...extra,
  });
  const events: ChatEvent[] = [];
  c.on('event', (e) => events.push(e));
  return { c, events, cut: sockets.cut };
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

  it('cut sockets mid-send and mid-delivery: every message still arrives exactly once, in order', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await createDirect(server.httpUrl, alice, bob);
    const a = client(alice);
    const b = client(bob);
    const sent: string[] = [];
    a.c.on('outbox', (entry) => {
      if (entry.state === 'sent') sent.push(entry.clientMsgId);
    });
    await a.c.connect();
    await b.c.connect();
    await until(() => a.c.state === 'live' && b.c.state === 'live');
    const total = 300;
    for (let i = 0; i < total; i++) {
      await a.c.send(conv, `m${i}`);
      if (i % 37 === 0) a.cut();
      if (i % 53 === 0) b.cut();
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await until(() => sent.length === total && messages(b.events, conv).length === total, 30_000);
    const got = messages(b.events, conv);
    expect(got.map((e) => e.seq)).toEqual([...got.map((e) => e.seq)].sort((x, y) => x - y));
    expect(new Set(got.map((e) => e.client_msg_id)).size).toBe(total);
    const history = await b.c.history(conv, undefined, 100);
    expect(history.events.at(-1)!.seq).toBe(got.at(-1)!.seq);
    a.c.close();
    b.c.close();
  }, 60_000);

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
});
