import type { ConversationSummary } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, TestClient } from '../helpers/client.js';
import { api, signToken, startTestServer, type TestServer, uid } from '../helpers/server.js';

type DirectRes = { conversation: ConversationSummary };

describe('direct (1:1) conversations', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const direct = async (from: string, to: string) =>
    api<DirectRes>(server.httpUrl, 'POST', '/v1/conversations/direct', {
      token: await signToken(from),
      body: { user_id: to },
    });

  it('is idempotent for the same pair, from either side', async () => {
    const a = uid('a');
    const b = uid('b');
    const first = await direct(a, b);
    expect(first.status).toBe(200);
    expect(first.body.conversation).toMatchObject({
      kind: 'direct',
      peer_id: b,
      member_count: 2,
      left_seq: null,
    });
    const again = await direct(a, b);
    expect(again.status).toBe(200);
    expect(again.body.conversation.conversation_id).toBe(first.body.conversation.conversation_id);
    const reverse = await direct(b, a);
    expect(reverse.body.conversation.conversation_id).toBe(first.body.conversation.conversation_id);
    expect(reverse.body.conversation.peer_id).toBe(a);
    // a different pair is a different conversation
    const other = await direct(a, uid('c'));
    expect(other.body.conversation.conversation_id).not.toBe(first.body.conversation.conversation_id);
  });

  it('concurrent creation for the same pair yields one conversation with one created event', async () => {
    const a = uid('a');
    const b = uid('b');
    const results = await Promise.all([
      direct(a, b),
      direct(b, a),
      direct(a, b),
      direct(b, a),
      direct(a, b),
      direct(b, a),
    ]);
    const ids = new Set(results.map((r) => r.body.conversation?.conversation_id));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(ids.size).toBe(1);
    const list = await api<{ conversations: ConversationSummary[] }>(
      server.httpUrl,
      'GET',
      '/v1/conversations',
      {
        token: await signToken(a),
      },
    );
    expect(list.body.conversations.filter((c) => c.kind === 'direct' && c.peer_id === b)).toHaveLength(1);
    const ca = await TestClient.open(server.wsUrl, { user: a });
    try {
      const h = await ca.fullHistory([...ids][0]!);
      expect(h.filter((e) => e.kind === 'created')).toHaveLength(1);
    } finally {
      await ca.close();
    }
  });

  it('both participants can message each other in it', async () => {
    const a = uid('a');
    const b = uid('b');
    const conv = (await direct(a, b)).body.conversation.conversation_id;
    const ca = await TestClient.open(server.wsUrl, { user: a });
    const cb = await TestClient.open(server.wsUrl, { user: b });
    try {
      const ack = await ca.sendOk(conv, 'hi');
      const ev = await cb.waitFor((f) => f.type === 'event' && f.event.seq === ack.seq);
      expect(ev.type).toBe('event');
      const ack2 = await cb.sendOk(conv, 'hello');
      expect(ack2.seq).toBe(ack.seq + 1);
    } finally {
      await closeAll([ca, cb]);
    }
  });

  it('a direct conversation with yourself has you as its peer and one member', async () => {
    const a = uid('self');
    const first = await direct(a, a);
    expect(first.status).toBe(200);
    expect(first.body.conversation).toMatchObject({ kind: 'direct', peer_id: a, member_count: 1 });
    const again = await direct(a, a);
    expect(again.body.conversation.conversation_id).toBe(first.body.conversation.conversation_id);
  });

  it('adding a member to a direct conversation is refused', async () => {
    const a = uid('a');
    const b = uid('b');
    const conv = (await direct(a, b)).body.conversation.conversation_id;
    const res = await api(server.httpUrl, 'POST', `/v1/conversations/${conv}/members`, {
      token: await signToken(a),
      body: { user_id: uid('c') },
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });

  it('stays the same conversation across a server restart', async () => {
    const local = await startTestServer();
    let again: TestServer | undefined;
    try {
      const a = uid('a');
      const b = uid('b');
      const call = async (srv: TestServer, from: string, to: string) =>
        api<DirectRes>(srv.httpUrl, 'POST', '/v1/conversations/direct', {
          token: await signToken(from),
          body: { user_id: to },
        });
      const first = await call(local, a, b);
      await local.close();
      again = await startTestServer({}, local.dataDir);
      const second = await call(again, b, a);
      expect(second.body.conversation.conversation_id).toBe(first.body.conversation.conversation_id);
    } finally {
      await again?.close();
      await local.dispose();
    }
  });
});
