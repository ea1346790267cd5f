import { randomUUID } from 'node:crypto';
import type { ErrorFrame, ServerFrame } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, expectError, expectFrame, TestClient } from '../helpers/client.js';
import { api, createGroup, signToken, startTestServer, type TestServer, uid } from '../helpers/server.js';

/** Promise 7: members only; "not found" and "forbidden" look the same. */
describe('members only', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const strip = (e: ErrorFrame) => ({ code: e.code, message: e.message, retryable: e.retryable });

  it('a non-member gets not_found for everything, identical to a conversation that does not exist', async () => {
    const owner = uid('owner');
    const member = uid('member');
    const outsider = uid('outsider');
    const conv = await createGroup(server.httpUrl, owner, [member], 'secret');
    const ghost = `c_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    const o = await TestClient.open(server.wsUrl, { user: owner });
    const x = await TestClient.open(server.wsUrl, { user: outsider });
    try {
      const ack = await o.sendOk(conv, 'members only');
      const attempts: Array<(id: string) => Record<string, unknown> & { type: string }> = [
        (id) => ({ type: 'send', conversation_id: id, client_msg_id: randomUUID(), body: 'intrude' }),
        (id) => ({ type: 'history', conversation_id: id }),
        (id) => ({ type: 'fetch', conversation_id: id, after_seq: 0 }),
        (id) => ({ type: 'receipt', conversation_id: id, kind: 'read', seq: ack.seq }),
        (id) => ({
          type: 'edit',
          conversation_id: id,
          client_msg_id: randomUUID(),
          target_seq: ack.seq,
          body: 'x',
        }),
        (id) => ({ type: 'delete', conversation_id: id, client_msg_id: randomUUID(), target_seq: ack.seq }),
      ];
      for (const make of attempts) {
        const real = expectError(await x.request(make(conv)), 'not_found');
        const none = expectError(await x.request(make(ghost)), 'not_found');
        expect(strip(real), `${make(conv).type}: non-member vs nonexistent`).toEqual(strip(none));
      }
      // typing (no id): error frame not_found, same as for a nonexistent conversation
      let mark = x.mark();
      x.sendJson({ type: 'typing', conversation_id: conv, state: 'start' });
      const t1 = expectError(await x.waitFor((f) => f.type === 'error', { from: mark }), 'not_found');
      mark = x.mark();
      x.sendJson({ type: 'typing', conversation_id: ghost, state: 'start' });
      const t2 = expectError(await x.waitFor((f) => f.type === 'error', { from: mark }), 'not_found');
      expect(strip(t1)).toEqual(strip(t2));

      // HTTP: same status and body for both
      const token = await signToken(outsider);
      for (const path of ['', '/events']) {
        const a = await api(server.httpUrl, 'GET', `/v1/conversations/${conv}${path}`, { token });
        const b = await api(server.httpUrl, 'GET', `/v1/conversations/${ghost}${path}`, { token });
        expect(a.status).toBe(404);
        expect(b.status).toBe(404);
        expect(a.body).toEqual(b.body);
        expect(a.text).not.toContain('members only');
      }
      const patch = await api(server.httpUrl, 'PATCH', `/v1/conversations/${conv}`, {
        token,
        body: { title: 'pwn' },
      });
      const patchGhost = await api(server.httpUrl, 'PATCH', `/v1/conversations/${ghost}`, {
        token,
        body: { title: 'pwn' },
      });
      expect(patch.status).toBe(404);
      expect(patch.body).toEqual(patchGhost.body);
      const add = await api(server.httpUrl, 'POST', `/v1/conversations/${conv}/members`, {
        token,
        body: { user_id: outsider },
      });
      expect(add.status).toBe(404);

      // sync does not list it; the owner's activity never reaches the outsider
      const s = expectFrame(await x.sync(), 'sync_result');
      expect(s.conversations.map((c) => c.conversation_id)).not.toContain(conv);
      await o.sendOk(conv, 'still secret');
      o.sendJson({ type: 'typing', conversation_id: conv, state: 'start' });
      await o.request({ type: 'receipt', conversation_id: conv, kind: 'read', seq: ack.seq });
      await x.collectFor(() => false, 200);
      const leaked = x.frames.filter(
        (f: ServerFrame) =>
          (f.type === 'event' && f.event.conversation_id === conv) ||
          ((f.type === 'typing' || f.type === 'receipt') && f.conversation_id === conv),
      );
      expect(leaked).toEqual([]);
      // nothing was stored by the intruder
      const history = await o.fullHistory(conv);
      expect(history.some((e) => e.sender_id === outsider)).toBe(false);
      // presence of the owner is not visible to the outsider
      const p = expectFrame(
        await x.request({ type: 'presence_subscribe', user_ids: [owner] }),
        'presence_result',
      );
      expect(p.presence).toEqual([]);
    } finally {
      await closeAll([o, x]);
    }
  });

  it('a removed member gets nothing after the removal; history and sync stop at the removal seq', async () => {
    const owner = uid('owner');
    const removed = uid('removed');
    const conv = await createGroup(server.httpUrl, owner, [removed], 'kick');
    const o = await TestClient.open(server.wsUrl, { user: owner });
    const r = await TestClient.open(server.wsUrl, { user: removed });
    try {
      const before = await o.sendOk(conv, 'you can see this');
      await r.waitFor((f) => f.type === 'event' && f.event.seq === before.seq);
      const token = expectFrame(await r.sync(), 'sync_result').token;

      const del = await api<{ seq: number }>(
        server.httpUrl,
        'DELETE',
        `/v1/conversations/${conv}/members/${removed}`,
        { token: await signToken(owner) },
      );
      expect(del.status).toBe(200);
      const removalSeq = del.body.seq;
      expect(removalSeq).toBe(before.seq + 1);
      const mark = r.mark();

      const after = await o.sendOk(conv, 'you cannot see this');
      o.sendJson({ type: 'typing', conversation_id: conv, state: 'start' });
      await o.request({ type: 'receipt', conversation_id: conv, kind: 'read', seq: after.seq });
      await r.collectFor(() => false, 250);
      const leaked = r.frames
        .slice(mark)
        .filter(
          (f) =>
            (f.type === 'event' && f.event.conversation_id === conv && f.event.seq > removalSeq) ||
            ((f.type === 'typing' || f.type === 'receipt') && f.conversation_id === conv),
        );
      expect(leaked).toEqual([]);

      // history: everything up to and including the removal, nothing after
      const h = await r.fullHistory(conv);
      expect(h.at(-1)?.seq).toBe(removalSeq);
      expect(h.at(-1)?.kind).toBe('member_removed');
      expect(h.some((e) => e.body === 'you cannot see this')).toBe(false);
      const f = await r.fetch(conv, 0);
      if (f.type === 'events') {
        expect(Math.max(...f.events.map((e) => e.seq))).toBe(removalSeq);
        expect(f.has_more).toBe(false);
      } else {
        expectError(f, 'not_found');
      }
      const f2 = await r.fetch(conv, removalSeq);
      if (f2.type === 'events') expect(f2.events).toEqual([]);
      else expectError(f2, 'not_found');

      // sync: shows once with left_seq, last_seq = left_seq; nothing after that
      const s1 = expectFrame(await r.sync(token), 'sync_result');
      const summary = s1.conversations.find((c) => c.conversation_id === conv);
      expect(summary).toMatchObject({ left_seq: removalSeq, last_seq: removalSeq });
      expect(s1.events.filter((e) => e.conversation_id === conv).map((e) => e.seq)).toEqual([removalSeq]);
      await o.sendOk(conv, 'more secrets');
      const s2 = expectFrame(await r.sync(s1.token), 'sync_result');
      expect(s2.conversations.map((c) => c.conversation_id)).not.toContain(conv);
      expect(s2.events.filter((e) => e.conversation_id === conv)).toEqual([]);

      // requests: not_found
      expectError(await r.send(conv, 'let me back in'), 'not_found');
      expectError(
        await r.request({ type: 'receipt', conversation_id: conv, kind: 'read', seq: after.seq }),
        'not_found',
      );
      const tm = r.mark();
      r.sendJson({ type: 'typing', conversation_id: conv, state: 'start' });
      expectError(await r.waitFor((x) => x.type === 'error', { from: tm }), 'not_found');
      const stored = await o.fullHistory(conv);
      expect(stored.filter((e) => e.sender_id === removed && e.kind === 'message')).toHaveLength(0);
    } finally {
      await closeAll([o, r]);
    }
  });

  it('a member added later sees history only from the seq they joined', async () => {
    const owner = uid('owner');
    const early = uid('early');
    const late = uid('late');
    const conv = await createGroup(server.httpUrl, owner, [early], 'late joiner');
    const o = await TestClient.open(server.wsUrl, { user: owner });
    try {
      await o.sendOk(conv, 'before you joined');
      const add = await api<{ seq: number }>(server.httpUrl, 'POST', `/v1/conversations/${conv}/members`, {
        token: await signToken(owner),
        body: { user_id: late },
      });
      expect(add.status).toBe(200);
      const l = await TestClient.open(server.wsUrl, { user: late });
      try {
        const after = await o.sendOk(conv, 'after you joined');
        await l.waitFor((f) => f.type === 'event' && f.event.seq === after.seq);
        const h = await l.fullHistory(conv);
        expect(h[0]?.seq).toBe(add.body.seq);
        expect(h.some((e) => e.body === 'before you joined')).toBe(false);
        expect(h.map((e) => e.seq)).toEqual([add.body.seq, after.seq]);
        const f = expectFrame(await l.fetch(conv, 0), 'events');
        expect(f.events.map((e) => e.seq)).toEqual([add.body.seq, after.seq]);
        const s = expectFrame(await l.sync(), 'sync_result').conversations.find(
          (c) => c.conversation_id === conv,
        );
        expect(s?.joined_seq).toBe(add.body.seq);
      } finally {
        await l.close();
      }
    } finally {
      await o.close();
    }
  });
});
