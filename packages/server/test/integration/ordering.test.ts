import { randomUUID } from 'node:crypto';
import type { AckFrame, ChatEvent } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, expectAck, TestClient } from '../helpers/client.js';
import { createGroup, startTestServer, type TestServer, uid } from '../helpers/server.js';

/** Promise 3: one gap-free order per conversation, the same for every participant. */
describe('ordering: concurrent senders in one conversation', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ sendsPerSecond: 1000, sendBurst: 1000, frameBurst: 2000 });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('5 clients x 40 concurrent sends: every client sees the same gap-free order 1..N', async () => {
    const SENDERS = 5;
    const PER_SENDER = 40;
    const users = Array.from({ length: SENDERS }, () => uid('ord'));
    const conv = await createGroup(server.httpUrl, users[0]!, users.slice(1), 'ordering');
    const clients = await Promise.all(users.map((u) => TestClient.open(server.wsUrl, { user: u })));
    try {
      // What each sender knows about the messages it sent: client_msg_id -> ack.
      const sent = await Promise.all(
        clients.map(async (c, i) => {
          const cmids = Array.from(
            { length: PER_SENDER },
            (_, k) => `s${i}-m${k}-${randomUUID().slice(0, 6)}`,
          );
          const acks = await Promise.all(cmids.map((m) => c.send(conv, `body ${m}`, m)));
          return acks.map((a) => expectAck(a));
        }),
      );
      const allAcks: AckFrame[] = sent.flat();
      expect(allAcks).toHaveLength(SENDERS * PER_SENDER);
      expect(allAcks.every((a) => a.duplicate === false)).toBe(true);
      const ackSeqs = allAcks.map((a) => a.seq).sort((a, b) => a - b);
      expect(new Set(ackSeqs).size).toBe(ackSeqs.length);

      // The server's log: gap-free 1..N, seq 1 is `created`, every acked message at its acked seq.
      const history = await clients[0]!.fullHistory(conv);
      const seqs = history.map((e) => e.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      expect(history[0]?.kind).toBe('created');
      const bySeq = new Map(history.map((e) => [e.seq, e] as const));
      for (const a of allAcks) {
        const e = bySeq.get(a.seq);
        expect(e?.kind).toBe('message');
        expect(e?.client_msg_id).toBe(a.client_msg_id);
        expect(e?.body).toBe(`body ${a.client_msg_id}`);
      }
      const messages = history.filter((e) => e.kind === 'message');
      expect(messages).toHaveLength(SENDERS * PER_SENDER);
      const N = history.at(-1)!.seq;

      // Each client: its live events (others' messages) + its own acks must reconstruct exactly the log.
      for (let i = 0; i < SENDERS; i++) {
        const c = clients[i]!;
        const othersCount = (SENDERS - 1) * PER_SENDER;
        await c.waitFor(() => c.liveEvents(conv).filter((e) => e.kind === 'message').length >= othersCount, {
          timeoutMs: 5_000,
          label: `client ${i} live events`,
        });
        const live = c.liveEvents(conv).filter((e) => e.kind === 'message');
        // The sending connection gets acks, not events for its own sends; no duplicates.
        expect(live.filter((e) => e.sender_id === users[i])).toHaveLength(0);
        expect(live).toHaveLength(othersCount);
        // Pushed in commit order on each connection.
        const liveSeqs = live.map((e) => e.seq);
        expect(liveSeqs).toEqual([...liveSeqs].sort((a, b) => a - b));
        const view = new Map<number, string | null>();
        for (const e of live) view.set(e.seq, e.client_msg_id);
        for (const a of sent[i]!) view.set(a.seq, a.client_msg_id);
        for (const e of history) if (e.kind !== 'message') view.set(e.seq, e.client_msg_id);
        const viewSeqs = [...view.keys()].sort((a, b) => a - b);
        expect(viewSeqs).toEqual(Array.from({ length: N }, (_, k) => k + 1));
        for (const e of history) expect(view.get(e.seq)).toBe(e.client_msg_id);
        // And each client's own history read agrees byte for byte.
        const own: ChatEvent[] = i === 0 ? history : await c.fullHistory(conv);
        expect(own.map((e) => [e.seq, e.client_msg_id])).toEqual(
          history.map((e) => [e.seq, e.client_msg_id]),
        );
      }
    } finally {
      await closeAll(clients);
    }
  });

  it('per-sender order: sequential sends from one connection get increasing seqs', async () => {
    const a = uid('ord');
    const b = uid('ord');
    const conv = await createGroup(server.httpUrl, a, [b], 'seq');
    const ca = await TestClient.open(server.wsUrl, { user: a });
    const cb = await TestClient.open(server.wsUrl, { user: b });
    try {
      const seqs: number[] = [];
      for (let k = 0; k < 10; k++) {
        const ack = await ca.sendOk(conv, `n${k}`);
        seqs.push(ack.seq);
        const ackB = await cb.sendOk(conv, `b${k}`);
        seqs.push(ackB.seq);
      }
      const first = seqs[0]!;
      expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => first + i));
    } finally {
      await closeAll([ca, cb]);
    }
  });
});
