import { randomUUID } from 'node:crypto';
import type { EventFrame } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, expectAck, TestClient } from '../helpers/client.js';
import { createGroup, startTestServer, type TestServer, uid } from '../helpers/server.js';

/** Promise 2: sends are idempotent on (sender, conversation, client_msg_id). */
describe('idempotent send', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('resending the same client_msg_id from another connection returns the original seq with duplicate:true', async () => {
    const alice = uid('alice');
    const bob = uid('bob');
    const conv = await createGroup(server.httpUrl, alice, [bob]);
    const a1 = await TestClient.open(server.wsUrl, { user: alice });
    const a2 = await TestClient.open(server.wsUrl, { user: alice });
    const b = await TestClient.open(server.wsUrl, { user: bob });
    try {
      const cmid = randomUUID();
      const first = await a1.sendOk(conv, 'once', cmid);
      expect(first.duplicate).toBe(false);
      const retry = await a2.sendOk(conv, 'once', cmid);
      expect(retry).toMatchObject({
        seq: first.seq,
        duplicate: true,
        client_msg_id: cmid,
        conversation_id: conv,
      });
      expect(retry.created_at).toBe(first.created_at);
      // A retry with a different body still answers with the original and stores nothing.
      const retry2 = await a1.sendOk(conv, 'changed body', cmid);
      expect(retry2).toMatchObject({ seq: first.seq, duplicate: true });

      const history = await b.fullHistory(conv);
      const copies = history.filter((e) => e.client_msg_id === cmid);
      expect(copies).toHaveLength(1);
      expect(copies[0]?.body).toBe('once');
      expect(history.at(-1)?.seq).toBe(first.seq);
      // Bob saw it once live.
      await b.collectFor(() => false, 200);
      expect(b.liveEvents(conv).filter((e) => e.client_msg_id === cmid)).toHaveLength(1);
    } finally {
      await closeAll([a1, a2, b]);
    }
  });

  it('ack lost: the socket is dropped right after sending; the retry gets the stored seq and history has one copy', async () => {
    const alice = uid('alice');
    const bob = uid('bob');
    const conv = await createGroup(server.httpUrl, alice, [bob]);
    const observer = await TestClient.open(server.wsUrl, { user: bob });
    const doomed = await TestClient.open(server.wsUrl, { user: alice });
    const cmid = randomUUID();
    try {
      doomed.sendJson({
        type: 'send',
        id: 'lost',
        conversation_id: conv,
        client_msg_id: cmid,
        body: 'lost ack',
      });
      doomed.terminate(); // never read the ack
      // Wait until the server has committed it (Bob sees the event) - or give it time if it was discarded.
      const seen = await observer
        .waitFor<EventFrame>((f) => f.type === 'event' && f.event.client_msg_id === cmid, {
          timeoutMs: 1_500,
        })
        .catch(() => undefined);
      const retryConn = await TestClient.open(server.wsUrl, { user: alice });
      try {
        const retry = await retryConn.sendOk(conv, 'lost ack', cmid);
        if (seen) {
          expect(retry).toMatchObject({ seq: seen.event.seq, duplicate: true });
        }
        const again = await retryConn.sendOk(conv, 'lost ack', cmid);
        expect(again).toMatchObject({ seq: retry.seq, duplicate: true });
        const history = await observer.fullHistory(conv);
        expect(history.filter((e) => e.client_msg_id === cmid)).toHaveLength(1);
        expect(history.find((e) => e.client_msg_id === cmid)?.seq).toBe(retry.seq);
      } finally {
        await retryConn.close();
      }
    } finally {
      await observer.close();
    }
  });

  it('the same client_msg_id sent concurrently on 5 connections is stored once', async () => {
    const alice = uid('alice');
    const bob = uid('bob');
    const conv = await createGroup(server.httpUrl, alice, [bob]);
    const conns = await Promise.all(
      Array.from({ length: 5 }, () => TestClient.open(server.wsUrl, { user: alice })),
    );
    try {
      const cmid = randomUUID();
      const acks = (await Promise.all(conns.map((c) => c.send(conv, 'race', cmid)))).map((f) => expectAck(f));
      expect(new Set(acks.map((a) => a.seq)).size).toBe(1);
      expect(acks.filter((a) => !a.duplicate)).toHaveLength(1);
      const history = await conns[0]!.fullHistory(conv);
      expect(history.filter((e) => e.client_msg_id === cmid)).toHaveLength(1);
    } finally {
      await closeAll(conns);
    }
  });

  it('a rejected send stores nothing: the same client_msg_id can then be sent for real', async () => {
    const alice = uid('alice');
    const conv = await createGroup(server.httpUrl, alice, [uid('bob')]);
    const a = await TestClient.open(server.wsUrl, { user: alice });
    try {
      const cmid = randomUUID();
      const tooBig = 'x'.repeat(16 * 1024 + 1);
      expect(await a.send(conv, tooBig, cmid)).toMatchObject({ type: 'error', code: 'body_too_large' });
      const ok = await a.sendOk(conv, 'fits', cmid);
      expect(ok.duplicate).toBe(false);
      const h = await a.fullHistory(conv);
      expect(h.filter((e) => e.client_msg_id === cmid).map((e) => e.body)).toEqual(['fits']);
    } finally {
      await a.close();
    }
  });

  it('the key is per sender and per conversation: same client_msg_id elsewhere is a new message', async () => {
    const alice = uid('alice');
    const bob = uid('bob');
    const conv1 = await createGroup(server.httpUrl, alice, [bob]);
    const conv2 = await createGroup(server.httpUrl, alice, [bob]);
    const a = await TestClient.open(server.wsUrl, { user: alice });
    const b = await TestClient.open(server.wsUrl, { user: bob });
    try {
      const cmid = randomUUID();
      const x = await a.sendOk(conv1, 'x', cmid);
      const y = await a.sendOk(conv2, 'y', cmid);
      const z = await b.sendOk(conv1, 'z', cmid);
      expect([x.duplicate, y.duplicate, z.duplicate]).toEqual([false, false, false]);
      expect(z.seq).toBe(x.seq + 1);
      const h1 = await a.fullHistory(conv1);
      expect(h1.filter((e) => e.client_msg_id === cmid).map((e) => e.sender_id)).toEqual([alice, bob]);
    } finally {
      await closeAll([a, b]);
    }
  });

  it('a retry after a server restart on the same data dir is still a duplicate', async () => {
    const local = await startTestServer();
    const alice = uid('alice');
    const bob = uid('bob');
    let restarted: TestServer | undefined;
    try {
      const conv = await createGroup(local.httpUrl, alice, [bob]);
      const a = await TestClient.open(local.wsUrl, { user: alice });
      const cmid = randomUUID();
      const first = await a.sendOk(conv, 'before restart', cmid);
      await a.close();
      await local.close();
      restarted = await startTestServer({}, local.dataDir);
      const a2 = await TestClient.open(restarted.wsUrl, { user: alice });
      try {
        const retry = expectAck(await a2.send(conv, 'before restart', cmid));
        expect(retry).toMatchObject({ seq: first.seq, duplicate: true });
        const history = await a2.fullHistory(conv);
        expect(history.filter((e) => e.client_msg_id === cmid)).toHaveLength(1);
      } finally {
        await a2.close();
      }
    } finally {
      await restarted?.close();
      await local.dispose();
    }
  });
});
