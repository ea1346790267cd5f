import type { ErrorFrame } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, expectAck, expectError, TestClient, tryUpgrade } from '../helpers/client.js';
import { ManualClock } from '../helpers/manual-clock.js';
import {
  createGroup,
  signToken,
  sleep,
  startTestServer,
  type TestServer,
  uid,
  until,
} from '../helpers/server.js';

const MAX_FRAME = 4096;
const MAX_BODY = 100;
const SEND_BURST = 5;
const SENDS_PER_SECOND = 2;
const MAX_CONNS = 3;

/** The rate limits refill on the server's time, a ManualClock that moves only when advanced. */
describe('limits', () => {
  const clock = new ManualClock();
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(
      {
        maxFrameBytes: MAX_FRAME,
        maxBodyBytes: MAX_BODY,
        sendBurst: SEND_BURST,
        sendsPerSecond: SENDS_PER_SECOND,
        maxConnectionsPerUser: MAX_CONNS,
      },
      undefined,
      { clock },
    );
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('a frame over maxFrameBytes closes the socket with 1009', async () => {
    const c = await TestClient.open(server.wsUrl, { user: uid('big') });
    const conv = await createGroup(server.httpUrl, uid('o'), [c.ready!.user_id]);
    c.sendJson({
      type: 'send',
      id: 'big',
      conversation_id: conv,
      client_msg_id: 'big',
      body: 'x'.repeat(MAX_FRAME),
    });
    const closed = await c.waitClosed();
    expect(closed.code).toBe(1009);
    // nothing stored
    const r = await TestClient.open(server.wsUrl, { user: c.ready!.user_id });
    try {
      const h = await r.fullHistory(conv);
      expect(h.some((e) => e.client_msg_id === 'big')).toBe(false);
    } finally {
      await r.close();
    }
  });

  it('a body over maxBodyBytes (UTF-8 bytes) is body_too_large; the socket stays; exactly the max is fine', async () => {
    const user = uid('body');
    const conv = await createGroup(server.httpUrl, user, [uid('peer')]);
    const c = await TestClient.open(server.wsUrl, { user });
    try {
      // 34 euro signs: 34 characters but 102 bytes
      const e = expectError(await c.send(conv, '€'.repeat(34)), 'body_too_large');
      expect(e.retryable).toBe(false);
      expect(c.isOpen).toBe(true);
      expectAck(await c.send(conv, 'a'.repeat(MAX_BODY)));
      expectError(await c.send(conv, 'a'.repeat(MAX_BODY + 1)), 'body_too_large');
      // edits are held to the same limit
      const m = await c.sendOk(conv, 'short');
      const ed = await c.request({
        type: 'edit',
        conversation_id: conv,
        client_msg_id: 'too-long-edit',
        target_seq: m.seq,
        body: 'b'.repeat(MAX_BODY + 1),
      });
      expectError(ed, 'body_too_large');
      await c.pingPong();
      const h = await c.fullHistory(conv);
      expect(h.filter((ev) => ev.kind === 'message').map((ev) => ev.body?.length)).toEqual([MAX_BODY, 5]);
      expect(h.some((ev) => ev.kind === 'edit')).toBe(false);
    } finally {
      await c.close();
    }
  });

  it('sends beyond the burst are rate_limited with retry_after_ms; waiting that long works again', async () => {
    const user = uid('rate');
    const conv = await createGroup(server.httpUrl, user, [uid('peer')]);
    const c1 = await TestClient.open(server.wsUrl, { user });
    const c2 = await TestClient.open(server.wsUrl, { user });
    try {
      // the limit is per user: spread over two connections
      const answers = await Promise.all(
        Array.from({ length: SEND_BURST + 5 }, (_, i) => (i % 2 === 0 ? c1 : c2).send(conv, `m${i}`)),
      );
      const acks = answers.filter((a) => a.type === 'ack');
      const limited = answers.filter((a): a is ErrorFrame => a.type === 'error');
      // The server's clock stands still during the burst: nothing refills.
      expect(acks).toHaveLength(SEND_BURST);
      expect(limited).toHaveLength(5);
      for (const l of limited) {
        expect(l.code).toBe('rate_limited');
        expect(l.retryable).toBe(true);
        expect(l.retry_after_ms).toBe(Math.ceil(1000 / SENDS_PER_SECOND));
      }
      const wait = Math.max(...limited.map((l) => l.retry_after_ms ?? 0));
      await clock.advance(wait - 1);
      expectError(await c1.send(conv, 'too early'), 'rate_limited');
      await clock.advance(1);
      expectAck(await c1.send(conv, 'after waiting'));
      const h = await c1.fullHistory(conv);
      expect(h.filter((e) => e.kind === 'message')).toHaveLength(acks.length + 1);
    } finally {
      await closeAll([c1, c2]);
    }
  });

  it('more than maxConnectionsPerUser sockets: the new one gets too_many_connections and close 4004', async () => {
    const user = uid('many');
    const conns = [];
    for (let i = 0; i < MAX_CONNS; i++) conns.push(await TestClient.open(server.wsUrl, { user }));
    const extra = await TestClient.connect(server.wsUrl);
    try {
      const answer = await extra.auth(await signToken(user));
      expectError(answer, 'too_many_connections');
      expect((await extra.waitClosed()).code).toBe(4004);
      // the existing ones are untouched
      for (const c of conns) await c.pingPong();
      // closing one frees a slot
      await conns[0]!.close();
      await sleep(50);
      const again = await TestClient.open(server.wsUrl, { user });
      conns.push(again);
      expect(again.ready?.user_id).toBe(user);
    } finally {
      await closeAll([...conns, extra]);
    }
  });

  it('the connection limit holds when many sockets authenticate at once', async () => {
    const user = uid('burst');
    const token = await signToken(user);
    const sockets = await Promise.all(Array.from({ length: 8 }, () => TestClient.connect(server.wsUrl)));
    try {
      const answers = await Promise.all(sockets.map((c) => c.auth(token)));
      const ready = answers.filter((a) => a.type === 'ready');
      expect(ready).toHaveLength(MAX_CONNS);
      for (const a of answers) if (a.type === 'error') expect(a.code).toBe('too_many_connections');
      await sleep(100);
      expect(sockets.filter((c) => c.isOpen)).toHaveLength(MAX_CONNS);
    } finally {
      await closeAll(sockets);
    }
  });

  it('frames beyond frameBurst/framesPerSecond get rate_limited errors; the bucket refills at the rate', async () => {
    const localClock = new ManualClock();
    const local = await startTestServer(
      { frameBurst: 20, framesPerSecond: 5, maxInvalidFrames: 1000 },
      undefined,
      { clock: localClock },
    );
    try {
      // Not answering the server's pings, so that only these frames take tokens.
      const c = await TestClient.open(local.wsUrl, { user: uid('flood') }, { autoPong: false });
      const pongs = () => c.frames.filter((f) => f.type === 'pong').length;
      const limited = () => c.frames.filter((f) => f.type === 'error' && f.code === 'rate_limited').length;
      for (let i = 0; i < 60; i++) c.sendJson({ type: 'ping' });
      await until(() => pongs() + limited() === 60);
      // Time stood still: the burst less the auth frame's token, and nothing more.
      expect(pongs()).toBe(19);
      expect(limited()).toBe(41);
      // One frame's worth of time later, one more gets through.
      await localClock.advance(1000 / 5);
      c.sendJson({ type: 'ping' });
      c.sendJson({ type: 'ping' });
      await until(() => pongs() + limited() === 62);
      expect(pongs()).toBe(20);
      await c.close();
    } finally {
      await local.dispose();
    }
  });

  it('more than maxUnauthenticated pending sockets: HTTP 503 on upgrade', async () => {
    const local = await startTestServer({ maxUnauthenticated: 2 });
    const pending: TestClient[] = [];
    try {
      pending.push(await TestClient.connect(local.wsUrl));
      pending.push(await TestClient.connect(local.wsUrl));
      expect(await tryUpgrade(local.wsUrl)).toBe(503);
      // authenticating one frees a slot
      expect((await pending[0]!.auth(await signToken(uid('p')))).type).toBe('ready');
      expect(await tryUpgrade(local.wsUrl)).toBe(101);
    } finally {
      await closeAll(pending);
      await local.dispose();
    }
  });
});
