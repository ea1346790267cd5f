import { randomUUID } from 'node:crypto';
import type { EventFrame } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, expectAck, expectError, TestClient } from '../helpers/client.js';
import { api, createGroup, signToken, startTestServer, type TestServer, uid } from '../helpers/server.js';

describe('edit and delete', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  async function setup() {
    const owner = uid('owner');
    const alice = uid('alice');
    const bob = uid('bob');
    const conv = await createGroup(server.httpUrl, owner, [alice, bob], 'edits');
    const o = await TestClient.open(server.wsUrl, { user: owner });
    const a = await TestClient.open(server.wsUrl, { user: alice });
    const b = await TestClient.open(server.wsUrl, { user: bob });
    return { owner, alice, bob, conv, o, a, b };
  }

  const edit = (c: TestClient, conv: string, target: number, body: string, cmid = randomUUID()) =>
    c.request({ type: 'edit', conversation_id: conv, client_msg_id: cmid, target_seq: target, body });
  const del = (c: TestClient, conv: string, target: number, cmid = randomUUID()) =>
    c.request({ type: 'delete', conversation_id: conv, client_msg_id: cmid, target_seq: target });

  it('the sender edits: new edit event with ref_seq, pushed to others; others get forbidden', async () => {
    const { alice, conv, o, a, b } = await setup();
    try {
      const msg = await a.sendOk(conv, 'typo');
      const cmid = randomUUID();
      const ack = expectAck(await edit(a, conv, msg.seq, 'fixed', cmid));
      expect(ack.seq).toBe(msg.seq + 1);
      const ev = await b.waitFor<EventFrame>((f) => f.type === 'event' && f.event.seq === ack.seq);
      expect(ev.event).toMatchObject({ kind: 'edit', ref_seq: msg.seq, body: 'fixed', sender_id: alice });
      // idempotent on client_msg_id
      expect(expectAck(await edit(a, conv, msg.seq, 'fixed', cmid))).toMatchObject({
        seq: ack.seq,
        duplicate: true,
      });
      // someone else's message: forbidden, even for the owner
      expectError(await edit(b, conv, msg.seq, 'hijack'), 'forbidden');
      expectError(await edit(o, conv, msg.seq, 'hijack'), 'forbidden');
      // target that is not a message: seq 1 (created), a seq beyond the log, the edit event itself
      expectError(await edit(a, conv, 1, 'x'), 'not_found');
      expectError(await edit(a, conv, ack.seq + 100, 'x'), 'not_found');
      expectError(await edit(a, conv, ack.seq, 'x'), 'not_found');
      const h = await a.fullHistory(conv);
      expect(h.filter((e) => e.kind === 'edit')).toHaveLength(1);
      expect(h.find((e) => e.seq === msg.seq)?.body).toBe('typo');
    } finally {
      await closeAll([o, a, b]);
    }
  });

  it('the sender deletes: delete event, and the target and its edits come back with body null, deleted:true', async () => {
    const { conv, o, a, b } = await setup();
    try {
      const msg = await a.sendOk(conv, 'secret text');
      const e1 = expectAck(await edit(a, conv, msg.seq, 'secret text v2'));
      const keep = await a.sendOk(conv, 'keep me');
      expectError(await del(b, conv, msg.seq), 'forbidden');
      const d = expectAck(await del(a, conv, msg.seq));
      const ev = await b.waitFor<EventFrame>((f) => f.type === 'event' && f.event.seq === d.seq);
      expect(ev.event).toMatchObject({ kind: 'delete', ref_seq: msg.seq });
      for (const reader of [a, b, o]) {
        const h = await reader.fullHistory(conv);
        expect(h.find((e) => e.seq === msg.seq)).toMatchObject({
          kind: 'message',
          body: null,
          deleted: true,
        });
        expect(h.find((e) => e.seq === e1.seq)).toMatchObject({ kind: 'edit', body: null, deleted: true });
        expect(h.find((e) => e.seq === keep.seq)).toMatchObject({ body: 'keep me', deleted: false });
        expect(JSON.stringify(h)).not.toContain('secret text');
      }
      // fetch and HTTP agree
      const f = await b.fetch(conv, 0);
      expect(JSON.stringify(f)).not.toContain('secret text');
      const http = await api(server.httpUrl, 'GET', `/v1/conversations/${conv}/events`, {
        token: await signToken(b.ready!.user_id),
      });
      expect(http.status).toBe(200);
      expect(http.text).not.toContain('secret text');
      // delete targets must be messages too: an edit or delete event is not_found
      expectError(await del(a, conv, e1.seq), 'not_found');
      expectError(await del(a, conv, d.seq), 'not_found');
      expectError(await del(a, conv, 1), 'not_found');
      // a deleted message cannot be edited any more
      const late = await edit(a, conv, msg.seq, 'resurrect');
      expect(late.type).toBe('error');
    } finally {
      await closeAll([o, a, b]);
    }
  });

  it('a group admin or owner may delete someone else’s message; a plain member may not', async () => {
    const { conv, o, a, b } = await setup();
    try {
      const m1 = await a.sendOk(conv, 'moderate me');
      expectError(await del(b, conv, m1.seq), 'forbidden');
      expectAck(await del(o, conv, m1.seq));
      const h = await b.fullHistory(conv);
      expect(h.find((e) => e.seq === m1.seq)).toMatchObject({ body: null, deleted: true });
      // sync summaries never preview a deleted body
      const s = await b.sync();
      expect(JSON.stringify(s)).not.toContain('moderate me');
    } finally {
      await closeAll([o, a, b]);
    }
  });
});
