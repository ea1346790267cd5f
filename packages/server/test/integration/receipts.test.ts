import type { MemberInfo, ReceiptUpdateFrame, ServerFrame } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, expectFrame, TestClient } from '../helpers/client.js';
import { api, createGroup, signToken, startTestServer, type TestServer, uid } from '../helpers/server.js';

const isReceipt = (conv: string, user: string) => (f: ServerFrame) =>
  f.type === 'receipt' && f.conversation_id === conv && f.user_id === user;

/** Receipts are cursors: forward only, shared with the other members and the reader's devices. */
describe('receipts and unread counts', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  async function setup() {
    const reader = uid('reader');
    const writer = uid('writer');
    const conv = await createGroup(server.httpUrl, writer, [reader], 'receipts');
    const r1 = await TestClient.open(server.wsUrl, { user: reader }, { deviceId: 'r1' });
    const r2 = await TestClient.open(server.wsUrl, { user: reader }, { deviceId: 'r2' });
    const w = await TestClient.open(server.wsUrl, { user: writer });
    const seqs: number[] = [];
    for (let k = 0; k < 5; k++) seqs.push((await w.sendOk(conv, `m${k}`)).seq);
    return { reader, writer, conv, r1, r2, w, seqs };
  }

  it('a read receipt reaches every device of the other member, the reader’s other device and the same connection', async () => {
    const { reader, writer, conv, r1, r2, w, seqs } = await setup();
    const w2 = await TestClient.open(server.wsUrl, { user: writer });
    try {
      const clients = [r1, r2, w, w2];
      const marks = clients.map((c) => c.mark());
      const ok = await r1.request({ type: 'receipt', conversation_id: conv, kind: 'read', seq: seqs[2]! });
      expect(ok.type).toBe('ok');
      const got = await Promise.all(
        clients.map((c, i) =>
          c.waitFor<ReceiptUpdateFrame>(isReceipt(conv, reader), { from: marks[i]!, label: 'receipt' }),
        ),
      );
      for (const g of got) {
        expect(g).toMatchObject({
          conversation_id: conv,
          user_id: reader,
          read_seq: seqs[2],
          delivered_seq: seqs[2],
        });
      }
    } finally {
      await closeAll([r1, r2, w, w2]);
    }
  });

  it('cursors only move forward: a lower seq is a no-op and broadcasts nothing', async () => {
    const { reader, writer, conv, r1, r2, w, seqs } = await setup();
    try {
      await r1.request({ type: 'receipt', conversation_id: conv, kind: 'read', seq: seqs[3]! });
      await w.waitFor(isReceipt(conv, reader), { label: 'first receipt' });
      const mark = w.mark();
      const mark2 = r2.mark();
      const ok = await r1.request({ type: 'receipt', conversation_id: conv, kind: 'read', seq: seqs[0]! });
      expect(ok.type).toBe('ok');
      const ok2 = await r2.request({
        type: 'receipt',
        conversation_id: conv,
        kind: 'delivered',
        seq: seqs[1]!,
      });
      expect(ok2.type).toBe('ok');
      const late = await w.collectFor(isReceipt(conv, reader), 300, mark);
      expect(late).toHaveLength(0);
      expect(await r2.collectFor(isReceipt(conv, reader), 0, mark2)).toHaveLength(0);
      const info = await w.request({ type: 'sync' });
      const s = expectFrame(info, 'sync_result').conversations.find((c) => c.conversation_id === conv);
      expect(s?.peers_read_seq).toBe(seqs[3]);
      // The member list agrees.
      const res = await api<{ members: MemberInfo[] }>(server.httpUrl, 'GET', `/v1/conversations/${conv}`, {
        token: await signToken(writer),
      });
      expect(res.status).toBe(200);
      const m = res.body.members.find((x) => x.user_id === reader);
      expect(m?.read_seq).toBe(seqs[3]);
      expect(m?.delivered_seq).toBe(seqs[3]);
    } finally {
      await closeAll([r1, r2, w]);
    }
  });

  it('delivered alone moves only delivered_seq; read implies delivered; seq is clamped to the newest', async () => {
    const { reader, conv, r1, r2, w, seqs } = await setup();
    try {
      const initial = expectFrame(await r1.sync(), 'sync_result').conversations.find(
        (c) => c.conversation_id === conv,
      )!;
      expect(initial.read_seq).toBeLessThan(seqs[0]!);
      let mark = w.mark();
      await r1.request({ type: 'receipt', conversation_id: conv, kind: 'delivered', seq: seqs[1]! });
      const d = await w.waitFor<ReceiptUpdateFrame>(isReceipt(conv, reader), { from: mark });
      expect(d.delivered_seq).toBe(seqs[1]);
      expect(d.read_seq).toBe(initial.read_seq);
      mark = w.mark();
      await r1.request({ type: 'receipt', conversation_id: conv, kind: 'read', seq: 1_000_000 });
      const clamped = await w.waitFor<ReceiptUpdateFrame>(isReceipt(conv, reader), { from: mark });
      expect(clamped.read_seq).toBe(seqs[4]);
      expect(clamped.delivered_seq).toBe(seqs[4]);
      // After clamping, a new message is still unread for the reader.
      const next = await w.sendOk(conv, 'after clamp');
      const sync = expectFrame(await r2.sync(), 'sync_result');
      const s = sync.conversations.find((c) => c.conversation_id === conv);
      expect(s?.read_seq).toBe(seqs[4]);
      expect(s?.last_seq).toBe(next.seq);
      expect(s?.unread).toBe(1);
    } finally {
      await closeAll([r1, r2, w]);
    }
  });

  it('unread counts messages from others after read_seq and is the same on every device', async () => {
    const { conv, r1, r2, w, seqs } = await setup();
    try {
      const unreadOn = async (c: TestClient) =>
        expectFrame(await c.sync(), 'sync_result').conversations.find((x) => x.conversation_id === conv)
          ?.unread;
      expect(await unreadOn(r1)).toBe(5);
      expect(await unreadOn(r2)).toBe(5);
      await r1.request({ type: 'receipt', conversation_id: conv, kind: 'read', seq: seqs[1]! });
      expect(await unreadOn(r2)).toBe(3);
      expect(await unreadOn(r1)).toBe(3);
      // The writer has nothing unread: its own messages never count.
      expect(await unreadOn(w)).toBe(0);
      // Sending moves the sender's own read cursor: reader replies, unread drops to 0.
      await r2.sendOk(conv, 'reply');
      expect(await unreadOn(r1)).toBe(0);
      // and the writer now has 1 unread
      expect(await unreadOn(w)).toBe(1);
    } finally {
      await closeAll([r1, r2, w]);
    }
  });

  it('a receipt without id gets no answer but still moves the cursor', async () => {
    const { reader, conv, r1, r2, w, seqs } = await setup();
    try {
      const mark = r2.mark();
      r1.sendJson({ type: 'receipt', conversation_id: conv, kind: 'read', seq: seqs[0]! });
      const g = await r2.waitFor<ReceiptUpdateFrame>(isReceipt(conv, reader), { from: mark });
      expect(g.read_seq).toBe(seqs[0]);
      // r1 gets the receipt broadcast but no ok/error answer
      await r1.waitFor(isReceipt(conv, reader), { label: 'own receipt' });
      expect(r1.frames.filter((f) => f.type === 'ok' || f.type === 'error')).toHaveLength(0);
    } finally {
      await closeAll([r1, r2, w]);
    }
  });

  it('cursors are durable: they survive a server restart on the same data dir', async () => {
    const local = await startTestServer();
    let again: TestServer | undefined;
    try {
      const reader = uid('reader');
      const writer = uid('writer');
      const conv = await createGroup(local.httpUrl, writer, [reader]);
      const w = await TestClient.open(local.wsUrl, { user: writer });
      const seqs: number[] = [];
      for (let k = 0; k < 4; k++) seqs.push((await w.sendOk(conv, `d${k}`)).seq);
      const r = await TestClient.open(local.wsUrl, { user: reader });
      expectFrame(
        await r.request({ type: 'receipt', conversation_id: conv, kind: 'read', seq: seqs[1]! }),
        'ok',
      );
      expectFrame(
        await r.request({ type: 'receipt', conversation_id: conv, kind: 'delivered', seq: seqs[3]! }),
        'ok',
      );
      await closeAll([w, r]);
      await local.close();
      again = await startTestServer({}, local.dataDir);
      const r2 = await TestClient.open(again.wsUrl, { user: reader });
      const s = expectFrame(await r2.sync(), 'sync_result').conversations.find(
        (c) => c.conversation_id === conv,
      );
      expect(s).toMatchObject({ read_seq: seqs[1], delivered_seq: seqs[3], unread: 2 });
      await r2.close();
    } finally {
      await again?.close();
      await local.dispose();
    }
  });

  it('unread counts only messages: edits, deletes and membership events by others do not add to it', async () => {
    const { conv, r1, r2, w, seqs, writer } = await setup();
    try {
      const unreadOn = async (c: TestClient) =>
        expectFrame(await c.sync(), 'sync_result').conversations.find((x) => x.conversation_id === conv)
          ?.unread;
      await r1.request({ type: 'receipt', conversation_id: conv, kind: 'read', seq: seqs[4]! });
      expect(await unreadOn(r1)).toBe(0);
      const m = await w.sendOk(conv, 'new one');
      expectFrame(
        await w.request({
          type: 'edit',
          conversation_id: conv,
          client_msg_id: uid('e'),
          target_seq: m.seq,
          body: 'edited',
        }),
        'ack',
      );
      const added = await api(server.httpUrl, 'POST', `/v1/conversations/${conv}/members`, {
        token: await signToken(writer),
        body: { user_id: uid('newcomer') },
      });
      expect(added.status).toBe(200);
      expect(await unreadOn(r2)).toBe(1);
      expectFrame(
        await w.request({
          type: 'delete',
          conversation_id: conv,
          client_msg_id: uid('d'),
          target_seq: seqs[0]!,
        }),
        'ack',
      );
      expect(await unreadOn(r2)).toBe(1);
    } finally {
      await closeAll([r1, r2, w]);
    }
  });
});
