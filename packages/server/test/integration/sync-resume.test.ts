import { randomUUID } from 'node:crypto';
import type { ServerPingFrame } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, expectAck, expectFrame, TestClient } from '../helpers/client.js';
import { api, createGroup, signToken, startTestServer, type TestServer, uid } from '../helpers/server.js';
import { resume } from '../helpers/sync.js';

const EVENTS_PER_CONV = 10;

/** Promise 4: nothing is missed; one resume from one token. */
describe('sync: resume with a change token', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      syncEventsPerConversation: EVENTS_PER_CONV,
      sendsPerSecond: 10_000,
      sendBurst: 10_000,
      frameBurst: 10_000,
      framesPerSecond: 10_000,
    });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('offline while 500 messages arrive across 20 conversations: one token resumes exactly the 500', async () => {
    const offline = uid('off');
    const writer = uid('wr');
    const stranger = uid('str');
    const convs: string[] = [];
    for (let i = 0; i < 20; i++) convs.push(await createGroup(server.httpUrl, writer, [offline], `c${i}`));
    const foreign = await createGroup(server.httpUrl, writer, [stranger], 'not yours');

    const dev = await TestClient.open(server.wsUrl, { user: offline });
    // a new device pages through its conversation list 3 at a time
    const base = await resume(dev, undefined, 3);
    expect(base.syncPages).toBeGreaterThanOrEqual(7);
    expect(base.maxConversationsPerPage).toBeLessThanOrEqual(3);
    expect(base.summaries.size).toBe(20);
    expect(base.conversationsReceived, 'a conversation listed twice').toBe(20);
    expect(base.events).toEqual([]);
    for (const c of convs) expect(base.summaries.has(c)).toBe(true);
    expect(base.summaries.has(foreign)).toBe(false);
    const baseline = new Map(convs.map((c) => [c, base.summaries.get(c)!.last_seq] as const));
    await dev.close();

    // 25 messages into each of the 20 conversations while the device is away.
    const w = await TestClient.open(server.wsUrl, { user: writer });
    const sent = new Map<string, string[]>(); // conv -> cmids in ack order
    await Promise.all(
      convs.map(async (c, i) => {
        const cmids: string[] = [];
        for (let k = 0; k < 25; k++) {
          const cmid = `c${i}-m${k}-${randomUUID().slice(0, 8)}`;
          expectAck(await w.send(c, `msg ${k}`, cmid));
          cmids.push(cmid);
        }
        sent.set(c, cmids);
      }),
    );
    for (let k = 0; k < 10; k++) await w.sendOk(foreign, `foreign ${k}`);

    const back = await TestClient.open(server.wsUrl, { user: offline });
    try {
      const r = await resume(back, base.token, 7);
      // paging limits from the spec were honoured
      expect(r.maxConversationsPerPage).toBeLessThanOrEqual(7);
      expect(r.maxEventsPerConversationPerPage).toBeLessThanOrEqual(EVENTS_PER_CONV);
      expect(r.syncPages).toBeGreaterThanOrEqual(3);
      expect(r.misorderedPages, 'sync events ascending by conversation then seq').toBe(0);

      const keys = r.events.map((e) => `${e.conversation_id}#${e.seq}`);
      expect(new Set(keys).size, 'duplicate events in resume').toBe(keys.length);
      expect(r.events.filter((e) => e.conversation_id === foreign)).toHaveLength(0);
      expect(r.events).toHaveLength(500);
      for (const c of convs) {
        const evs = r.events.filter((e) => e.conversation_id === c).sort((a, b) => a.seq - b.seq);
        const from = baseline.get(c)! + 1;
        expect(
          evs.map((e) => e.seq),
          `gap or extra in ${c}`,
        ).toEqual(Array.from({ length: 25 }, (_, k) => from + k));
        expect(evs.map((e) => e.client_msg_id)).toEqual(sent.get(c));
        expect(evs.every((e) => e.kind === 'message' && e.sender_id === writer)).toBe(true);
        const s = r.summaries.get(c);
        expect(s?.last_seq).toBe(from + 24);
        expect(s?.unread).toBe(25);
      }
      expect(r.summaries.has(foreign)).toBe(false);
      // 25 new events > 10 per conversation per page: every conversation was reported truncated.
      expect([...r.truncatedSeen].sort()).toEqual([...convs].sort());

      // The returned token is up to date: nothing more to get.
      const again = expectFrame(await back.sync(r.token), 'sync_result');
      expect(again.conversations).toHaveLength(0);
      expect(again.events).toHaveLength(0);
      expect(again.has_more).toBe(false);
    } finally {
      await closeAll([back, w]);
    }
  });

  it('a new device syncing without a token gets every conversation with last_seq, read_seq and unread', async () => {
    const me = uid('me');
    const peer = uid('peer');
    const c1 = await createGroup(server.httpUrl, peer, [me], 'one');
    const c2 = await createGroup(server.httpUrl, peer, [me], 'two');
    const c3 = await createGroup(server.httpUrl, me, [peer], 'three');
    const p = await TestClient.open(server.wsUrl, { user: peer });
    const mine = await TestClient.open(server.wsUrl, { user: me });
    try {
      const acks = [];
      for (let k = 0; k < 5; k++) acks.push(await p.sendOk(c1, `p${k}`));
      const myAck = await mine.sendOk(c1, 'mine');
      const late = await p.sendOk(c1, 'late');
      for (let k = 0; k < 3; k++) await p.sendOk(c2, `q${k}`);
      // read c1 up to the 2nd message of the peer
      const ok = await mine.request({
        type: 'receipt',
        conversation_id: c1,
        kind: 'read',
        seq: acks[1]!.seq,
      });
      expect(ok.type).toBe('ok');

      const fresh = await TestClient.open(server.wsUrl, { user: me }, { deviceId: 'new-device' });
      try {
        const res = expectFrame(await fresh.sync(), 'sync_result');
        expect(res.events).toHaveLength(0);
        const byId = new Map(res.conversations.map((c) => [c.conversation_id, c] as const));
        expect(byId.size).toBe(3);
        const s1 = byId.get(c1)!;
        expect(s1.last_seq).toBe(late.seq);
        // sending moved my read cursor to my own message; later peer messages are unread
        expect(s1.read_seq).toBe(myAck.seq);
        expect(s1.unread).toBe(1);
        expect(s1.delivered_seq).toBeGreaterThanOrEqual(s1.read_seq);
        expect(s1.last_message?.seq).toBe(late.seq);
        expect(s1.last_message?.body).toBe('late');
        expect(s1).toMatchObject({
          kind: 'group',
          title: 'one',
          role: 'member',
          member_count: 2,
          left_seq: null,
        });
        const s2 = byId.get(c2)!;
        expect(s2.unread).toBe(3);
        expect(s2.read_seq).toBeLessThan(s2.last_seq - 2);
        const s3 = byId.get(c3)!;
        expect(s3).toMatchObject({ role: 'owner', unread: 0, title: 'three' });
        expect(s3.last_seq).toBeGreaterThanOrEqual(1);
        expect(typeof res.token).toBe('string');
      } finally {
        await fresh.close();
      }
    } finally {
      await closeAll([p, mine]);
    }
  });

  it('a receipt by another member counts as a change for sync', async () => {
    const me = uid('me');
    const peer = uid('peer');
    const conv = await createGroup(server.httpUrl, me, [peer]);
    const m = await TestClient.open(server.wsUrl, { user: me });
    const p = await TestClient.open(server.wsUrl, { user: peer });
    try {
      const ack = await m.sendOk(conv, 'read me');
      const t = expectFrame(await m.sync(), 'sync_result').token;
      expectFrame(
        await p.request({ type: 'receipt', conversation_id: conv, kind: 'read', seq: ack.seq }),
        'ok',
      );
      const after = expectFrame(await m.sync(t), 'sync_result');
      const s = after.conversations.find((c) => c.conversation_id === conv);
      expect(s, 'conversation with a moved cursor is reported').toBeDefined();
      expect(s?.peers_read_seq).toBe(ack.seq);
      expect(after.events).toHaveLength(0);
    } finally {
      await closeAll([m, p]);
    }
  });

  it('heartbeat pings carry the change token: unchanged when idle, different after a change, and sync heals', async () => {
    const me = uid('me');
    const peer = uid('peer');
    const conv = await createGroup(server.httpUrl, peer, [me]);
    const m = await TestClient.open(server.wsUrl, { user: me });
    const p = await TestClient.open(server.wsUrl, { user: peer });
    try {
      const t = expectFrame(await m.sync(), 'sync_result').token;
      const idlePing = await m.waitFor<ServerPingFrame>((f) => f.type === 'ping', {
        from: m.mark(),
        timeoutMs: 2_000,
      });
      expect(idlePing.token).toBe(t);
      const ack = await p.sendOk(conv, 'new');
      await m.waitFor((f) => f.type === 'event', { timeoutMs: 2_000 });
      const busyPing = await m.waitFor<ServerPingFrame>((f) => f.type === 'ping', {
        from: m.mark(),
        timeoutMs: 2_000,
      });
      expect(busyPing.token).not.toBe(t);
      // A client that lost the push syncs from its old token and gets exactly the missed event.
      const healed = expectFrame(await m.sync(t), 'sync_result');
      expect(healed.events.map((e) => e.seq)).toEqual([ack.seq]);
      const idleAgain = await m.waitFor<ServerPingFrame>((f) => f.type === 'ping', {
        from: m.mark(),
        timeoutMs: 2_000,
      });
      expect(idleAgain.token).toBe(healed.token);
    } finally {
      await closeAll([m, p]);
    }
  });

  it('added to an existing conversation after the token: sync brings it with events from joined_seq only', async () => {
    const me = uid('me');
    const owner = uid('owner');
    const conv = await createGroup(server.httpUrl, owner, [uid('other')], 'older');
    const o = await TestClient.open(server.wsUrl, { user: owner });
    const m = await TestClient.open(server.wsUrl, { user: me });
    try {
      for (let k = 0; k < 5; k++) await o.sendOk(conv, `before ${k}`);
      const t = expectFrame(await m.sync(), 'sync_result').token;
      const add = await api<{ seq: number }>(server.httpUrl, 'POST', `/v1/conversations/${conv}/members`, {
        token: await signToken(owner),
        body: { user_id: me },
      });
      expect(add.status).toBe(200);
      const after = await o.sendOk(conv, 'after');
      const r = await resume(m, t);
      const s = r.summaries.get(conv);
      expect(s).toMatchObject({ joined_seq: add.body.seq, last_seq: after.seq });
      expect(r.events.filter((e) => e.conversation_id === conv).map((e) => e.seq)).toEqual([
        add.body.seq,
        after.seq,
      ]);
      expect(JSON.stringify(r.events)).not.toContain('before ');
      expect(s?.unread).toBe(1);
    } finally {
      await closeAll([o, m]);
    }
  });

  it('a token from before a server restart still resumes exactly what changed', async () => {
    const local = await startTestServer();
    let again: TestServer | undefined;
    try {
      const me = uid('me');
      const peer = uid('peer');
      const conv = await createGroup(local.httpUrl, peer, [me]);
      const other = await createGroup(local.httpUrl, peer, [me]);
      const p = await TestClient.open(local.wsUrl, { user: peer });
      await p.sendOk(conv, 'seen before');
      const m = await TestClient.open(local.wsUrl, { user: me });
      const t = expectFrame(await m.sync(), 'sync_result').token;
      const a1 = await p.sendOk(conv, 'missed 1');
      await closeAll([p, m]);
      await local.close();
      again = await startTestServer({}, local.dataDir);
      const p2 = await TestClient.open(again.wsUrl, { user: peer });
      const a2 = await p2.sendOk(conv, 'missed 2');
      const m2 = await TestClient.open(again.wsUrl, { user: me });
      const r = await resume(m2, t);
      expect(r.events.map((e) => [e.conversation_id, e.seq])).toEqual([
        [conv, a1.seq],
        [conv, a2.seq],
      ]);
      expect(r.summaries.has(other)).toBe(false);
      await closeAll([p2, m2]);
    } finally {
      await again?.close();
      await local.dispose();
    }
  });

  it('reading on one device shows up in the other device’s next sync (same unread everywhere)', async () => {
    const me = uid('me');
    const peer = uid('peer');
    const conv = await createGroup(server.httpUrl, peer, [me]);
    const p = await TestClient.open(server.wsUrl, { user: peer });
    const d1 = await TestClient.open(server.wsUrl, { user: me }, { deviceId: 'd1' });
    const d2 = await TestClient.open(server.wsUrl, { user: me }, { deviceId: 'd2' });
    try {
      const acks = [];
      for (let k = 0; k < 3; k++) acks.push(await p.sendOk(conv, `u${k}`));
      const t = expectFrame(await d1.sync(), 'sync_result');
      expect(t.conversations.find((c) => c.conversation_id === conv)?.unread).toBe(3);
      expectFrame(
        await d2.request({ type: 'receipt', conversation_id: conv, kind: 'read', seq: acks[2]!.seq }),
        'ok',
      );
      const after = expectFrame(await d1.sync(t.token), 'sync_result');
      const s = after.conversations.find((c) => c.conversation_id === conv);
      expect(s).toMatchObject({ read_seq: acks[2]!.seq, unread: 0 });
      expect(after.events).toEqual([]);
    } finally {
      await closeAll([p, d1, d2]);
    }
  });
  it("a token is a position, not a credential: another user's token lists only the presenter's conversations", async () => {
    const [alice, bob, carol] = [uid('tok'), uid('tok'), uid('tok')];
    const ours = await createGroup(server.httpUrl, alice, [bob], 'ours');
    const secret = await createGroup(server.httpUrl, carol, [uid('tok')], 'carol only');
    const ca = await TestClient.open(server.wsUrl, { user: alice });
    const cc = await TestClient.open(server.wsUrl, { user: carol });
    try {
      const carolsToken = (await resume(cc, (await resume(cc, undefined)).token)).token;
      await cc.sendOk(secret, 'not for alice');
      const writer = await TestClient.open(server.wsUrl, { user: bob });
      await writer.sendOk(ours, 'for alice');
      await writer.close();
      const resumed = await resume(ca, carolsToken);
      expect([...resumed.summaries.keys()]).toEqual([ours]);
      expect(resumed.events.every((e) => e.conversation_id === ours)).toBe(true);
    } finally {
      await closeAll([ca, cc]);
    }
  });
});
