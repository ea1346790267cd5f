import { randomUUID } from 'node:crypto';
import type { EventFrame } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, expectAck, expectFrame, TestClient } from '../helpers/client.js';
import { createGroup, startTestServer, type TestServer, uid } from '../helpers/server.js';

describe('send: ack to the sender, events to everyone else', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('ack goes to the sending connection; the event goes to other members and the sender’s other devices', async () => {
    const alice = uid('alice');
    const bob = uid('bob');
    const conv = await createGroup(server.httpUrl, alice, [bob], 'fanout');
    const a1 = await TestClient.open(server.wsUrl, { user: alice }, { deviceId: 'phone' });
    const a2 = await TestClient.open(server.wsUrl, { user: alice }, { deviceId: 'laptop' });
    const b1 = await TestClient.open(server.wsUrl, { user: bob }, { deviceId: 'b-phone' });
    try {
      expect(a1.ready?.user_id).toBe(alice);
      expect(a1.ready?.device_id).toBe('phone');
      const cmid = randomUUID();
      const before = Date.now();
      const ack = await a1.sendOk(conv, 'hello bob', cmid);
      expect(ack.conversation_id).toBe(conv);
      expect(ack.client_msg_id).toBe(cmid);
      expect(ack.duplicate).toBe(false);
      expect(ack.seq).toBeGreaterThan(1);
      expect(ack.created_at).toBeGreaterThanOrEqual(before - 5_000);

      const isIt = (f: { type: string }) =>
        f.type === 'event' && (f as EventFrame).event.client_msg_id === cmid;
      const onB = await b1.waitFor<EventFrame>(isIt, { label: 'event on bob' });
      const onA2 = await a2.waitFor<EventFrame>(isIt, { label: 'event on alice laptop' });
      for (const got of [onB.event, onA2.event]) {
        expect(got).toMatchObject({
          conversation_id: conv,
          seq: ack.seq,
          kind: 'message',
          sender_id: alice,
          device_id: 'phone',
          client_msg_id: cmid,
          body: 'hello bob',
          ref_seq: null,
          deleted: false,
          created_at: ack.created_at,
        });
      }
      // The sending connection itself never gets the event.
      const echoes = await a1.collectFor(isIt, 300, 0);
      expect(echoes).toHaveLength(0);
      // history agrees
      const h = expectFrame(await b1.history(conv), 'events');
      expect(h.events.at(-1)).toMatchObject({ seq: ack.seq, body: 'hello bob', sender_id: alice });
    } finally {
      await closeAll([a1, a2, b1]);
    }
  });

  it('a UTF-8 body round-trips unchanged', async () => {
    const alice = uid('alice');
    const bob = uid('bob');
    const conv = await createGroup(server.httpUrl, alice, [bob], 'utf8');
    const a = await TestClient.open(server.wsUrl, { user: alice });
    try {
      const body = 'héllo 👋 世界 \u0000 "quotes" \\ back\nslash';
      const ack = expectAck(await a.send(conv, body));
      const h = expectFrame(await a.history(conv), 'events');
      expect(h.events.find((e) => e.seq === ack.seq)?.body).toBe(body);
    } finally {
      await a.close();
    }
  });

  it('ready frame announces heartbeat settings and limits', async () => {
    const a = await TestClient.open(server.wsUrl, { user: uid('r') });
    try {
      const r = a.ready!;
      expect(r.type).toBe('ready');
      expect(r.heartbeat_interval_ms).toBe(200);
      expect(typeof r.connection_id).toBe('string');
      expect(typeof r.server_time).toBe('number');
      expect(r.limits).toMatchObject({
        max_frame_bytes: expect.any(Number),
        max_body_bytes: expect.any(Number),
      });
    } finally {
      await a.close();
    }
  });

  it('read-after-ack: once acked (or pushed), a read from any connection includes the event', async () => {
    const alice = uid('alice');
    const bob = uid('bob');
    const conv = await createGroup(server.httpUrl, alice, [bob], 'raw');
    const a = await TestClient.open(server.wsUrl, { user: alice });
    const b = await TestClient.open(server.wsUrl, { user: bob });
    try {
      const stale: number[] = [];
      for (let i = 0; i < 40; i++) {
        const ack = await a.sendOk(conv, `r${i}`);
        const [viaFetch, viaEvent] = await Promise.all([
          b.fetch(conv, ack.seq - 1),
          b
            .waitFor<EventFrame>((f) => f.type === 'event' && f.event.seq === ack.seq)
            .then(() => b.history(conv, ack.seq + 1, 1)),
        ]);
        if (viaFetch.type !== 'events' || viaFetch.events[0]?.seq !== ack.seq) stale.push(ack.seq);
        if (viaEvent.type !== 'events' || viaEvent.events[0]?.seq !== ack.seq) stale.push(-ack.seq);
      }
      expect(stale, 'reads that missed an acked/pushed event').toEqual([]);
    } finally {
      await closeAll([a, b]);
    }
  });
});
