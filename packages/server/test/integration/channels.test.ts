import type { ChatEvent, ConversationSummary, EventFrame, MemberInfo, ServerFrame } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeMember, sendMessage } from '../helpers/chat-requests.js';
import { closeAll, expectAck, expectError, expectFrame, TestClient } from '../helpers/client.js';
import { reachablePostgres, useTestDatabase } from '../helpers/postgres.js';
import { api, signToken, startTestServer, type TestServer, uid } from '../helpers/server.js';
import { resume } from '../helpers/sync.js';

const adminUrl = await reachablePostgres('the channel tests on PostgreSQL');

const isEventIn = (conv: string) => (f: ServerFrame) =>
  f.type === 'event' && f.event.conversation_id === conv;
const isEventAt = (conv: string, seq: number) => (f: ServerFrame) =>
  f.type === 'event' && f.event.conversation_id === conv && f.event.seq === seq;
const eventsIn = (frames: ServerFrame[]) => frames.map((f) => (f as EventFrame).event);

/**
 * Channels over real sockets: fan-out on read. A post reaches the members who are online (and only
 * members: never a removed one), the others find it when they sync; receipts stay with their
 * owner's devices, typing is dropped, and a broadcast channel refuses plain members' posts.
 */
describe.each([
  ['SQLite', false],
  ['PostgreSQL', true],
] as const)('channels (%s)', (_, postgres) => {
  const database = postgres && adminUrl !== null ? useTestDatabase(adminUrl) : null;
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(database ? { store: 'postgres', databaseUrl: database.url } : {});
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const call = async <T = unknown>(user: string, method: string, path: string, body?: unknown) =>
    api<T>(server.httpUrl, method, path, { token: await signToken(user), body });

  async function createChannel(owner: string, members: string[], posting?: 'everyone' | 'admins') {
    const res = await call<{ conversation: ConversationSummary }>(owner, 'POST', '/v1/conversations', {
      title: 'announcements',
      member_ids: members,
      kind: 'channel',
      ...(posting ? { posting } : {}),
    });
    expect(res.status).toBe(201);
    return res.body.conversation;
  }

  it('creates a channel over HTTP; only a channel takes a posting policy', async () => {
    const [owner, member] = [uid('owner'), uid('member')];
    const created = await createChannel(owner, [member], 'admins');
    expect(created).toMatchObject({ kind: 'channel', posting: 'admins', role: 'owner', member_count: 2 });
    const group = await call<{ error: { code: string } }>(owner, 'POST', '/v1/conversations', {
      title: 'g',
      member_ids: [],
      posting: 'admins',
    });
    expect(group.status).toBe(400);
    expect(group.body.error.code).toBe('bad_request');
    const info = await call<{ conversation: ConversationSummary; members: MemberInfo[] }>(
      member,
      'GET',
      `/v1/conversations/${created.conversation_id}`,
    );
    expect(info.body.conversation.kind).toBe('channel');
    expect(info.body.members.map((m) => m.user_id).sort()).toEqual([owner, member].sort());
  });

  it('pushes a post to online members only; an offline member finds it on sync; a removed member gets nothing after', async () => {
    const [owner, online, offline, removed, stranger] = [
      'owner',
      'online',
      'offline',
      'removed',
      'stranger',
    ].map((p) => uid(p)) as [string, string, string, string, string];
    const conv = (await createChannel(owner, [online, offline, removed])).conversation_id;
    const [o, on, rm, st] = await Promise.all(
      [owner, online, removed, stranger].map((user) => TestClient.open(server.wsUrl, { user })),
    );
    try {
      const offlineToken = await signToken(offline);
      const first = await sendMessage(o!, conv, 'hello channel');
      const ack = expectAck(first);
      for (const c of [on!, rm!]) {
        const pushed = await c.waitFor<EventFrame>(isEventIn(conv));
        expect(pushed.event).toMatchObject({ seq: ack.seq, body: 'hello channel', sender_id: owner });
      }
      const removal = await changeMember(server.httpUrl, 'DELETE', conv, owner, removed);
      const removalPush = await rm!.waitFor<EventFrame>(isEventAt(conv, removal));
      expect(removalPush.event.kind).toBe('member_removed');
      const mark = rm!.mark();
      const markStranger = st!.mark();
      const after = expectAck(await sendMessage(o!, conv, 'after the removal'));
      await on!.waitFor(isEventAt(conv, after.seq));
      // Both sockets have had time to receive it: the member's copy arrived, theirs did not.
      await rm!.pingPong();
      expect(eventsIn(await rm!.collectFor(isEventIn(conv), 50, mark))).toEqual([]);
      expect(await st!.collectFor((f) => f.type === 'event', 0, markStranger)).toEqual([]);
      expect(expectError(await st!.fetch(conv, 0), 'not_found')).toBeTruthy();

      // The offline member reads on demand, the same sync as any conversation.
      const late = await TestClient.open(server.wsUrl, { token: offlineToken });
      try {
        const synced = await resume(late, null);
        expect(synced.summaries.get(conv)).toMatchObject({ kind: 'channel', unread: 2 });
        const history = expectFrame(await late.fetch(conv, 0), 'events').events;
        expect(history.filter((e) => e.kind === 'message').map((e) => e.body)).toEqual([
          'hello channel',
          'after the removal',
        ]);
      } finally {
        await late.close();
      }
    } finally {
      await closeAll([o, on, rm, st]);
    }
  });

  it('a member added while online is pushed the join and every post after it', async () => {
    const [owner, joiner] = [uid('owner'), uid('joiner')];
    const conv = (await createChannel(owner, [])).conversation_id;
    const [o, j] = await Promise.all([owner, joiner].map((user) => TestClient.open(server.wsUrl, { user })));
    try {
      expectAck(await sendMessage(o!, conv, 'before the join'));
      const joinSeq = await changeMember(server.httpUrl, 'POST', conv, owner, joiner);
      const post = expectAck(await sendMessage(o!, conv, 'welcome'));
      const got = await j!.waitFor<EventFrame>(isEventAt(conv, post.seq));
      expect(got.event.body).toBe('welcome');
      const seen = eventsIn(j!.frames.filter(isEventIn(conv))).map((e: ChatEvent) => e.seq);
      expect(seen).toEqual([joinSeq, post.seq]);
    } finally {
      await closeAll([o, j]);
    }
  });

  it('refuses a plain member’s post in a broadcast channel with posting_restricted; admins may change the policy', async () => {
    const [owner, member] = [uid('owner'), uid('member')];
    const conv = (await createChannel(owner, [member], 'admins')).conversation_id;
    const m = await TestClient.open(server.wsUrl, { user: member });
    try {
      expectError(await sendMessage(m, conv, 'can I post?'), 'posting_restricted');
      const byMember = await call<{ error: { code: string } }>(member, 'PATCH', `/v1/conversations/${conv}`, {
        posting: 'everyone',
      });
      expect(byMember.body.error.code).toBe('forbidden');
      const byOwner = await call<{ conversation: ConversationSummary }>(
        owner,
        'PATCH',
        `/v1/conversations/${conv}`,
        {
          posting: 'everyone',
        },
      );
      expect(byOwner.body.conversation.posting).toBe('everyone');
      const changed = await m.waitFor<EventFrame>(
        (f) => isEventIn(conv)(f) && (f as EventFrame).event.kind === 'settings_changed',
      );
      expect(changed.event.data).toEqual({ posting: 'everyone' });
      expectAck(await sendMessage(m, conv, 'now I can'));
    } finally {
      await m.close();
    }
  });

  it('sends a read receipt to the reader’s own devices only, and drops typing', async () => {
    const [owner, reader] = [uid('owner'), uid('reader')];
    const conv = (await createChannel(owner, [reader])).conversation_id;
    const o = await TestClient.open(server.wsUrl, { user: owner });
    const phone = await TestClient.open(server.wsUrl, { user: reader }, { deviceId: 'phone' });
    const laptop = await TestClient.open(server.wsUrl, { user: reader }, { deviceId: 'laptop' });
    try {
      const post = expectAck(await sendMessage(o, conv, 'read me'));
      await laptop.waitFor(isEventIn(conv));
      const ownerMark = o.mark();
      await phone.request({ type: 'receipt', conversation_id: conv, kind: 'read', seq: post.seq });
      const receipt = await laptop.waitFor((f) => f.type === 'receipt' && f.conversation_id === conv);
      expect(receipt).toMatchObject({ user_id: reader, read_seq: post.seq });
      phone.sendJson({ type: 'typing', conversation_id: conv, state: 'start' });
      await phone.pingPong();
      await o.pingPong();
      const toOwner = o.frames.slice(ownerMark).filter((f) => f.type === 'receipt' || f.type === 'typing');
      expect(toOwner).toEqual([]);
      const summary = (await resume(laptop, null)).summaries.get(conv);
      expect(summary).toMatchObject({ read_seq: post.seq, unread: 0, peers_read_seq: post.seq });
      // A stranger's typing is refused as for any conversation they are not in.
      const stranger = await TestClient.open(server.wsUrl, { user: uid('stranger') });
      try {
        stranger.sendJson({ type: 'typing', conversation_id: conv, state: 'start' });
        expect((await stranger.waitFor((f) => f.type === 'error')) as ServerFrame).toMatchObject({
          code: 'not_found',
        });
      } finally {
        await stranger.close();
      }
    } finally {
      await closeAll([o, phone, laptop]);
    }
  });

  it('heals a missed post: the heartbeat token moves, and a resume from the old token brings it', async () => {
    const [owner, member] = [uid('owner'), uid('member')];
    const conv = (await createChannel(owner, [member])).conversation_id;
    const m = await TestClient.open(server.wsUrl, { user: member });
    try {
      const base = await resume(m, null);
      const o = await TestClient.open(server.wsUrl, { user: owner });
      const post = expectAck(await sendMessage(o, conv, 'did you get this?'));
      await o.close();
      // Whatever the live push did, the next ping names a token the client does not have.
      const from = m.mark();
      const ping = await m.waitFor((f) => f.type === 'ping' && f.token !== base.token, { from });
      expect(ping.type).toBe('ping');
      const healed = await resume(m, base.token);
      expect(healed.events.map((e) => [e.conversation_id, e.seq, e.body])).toEqual([
        [conv, post.seq, 'did you get this?'],
      ]);
      expect(healed.token).toBe((ping as { token: string }).token);
    } finally {
      await m.close();
    }
  });
});
