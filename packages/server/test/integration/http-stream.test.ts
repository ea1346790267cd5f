import { randomUUID } from 'node:crypto';
import type { AckFrame, ChatEvent, ServerFrame, SyncResultFrame } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, TestClient } from '../helpers/client.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { reachablePostgres, useTestDatabase } from '../helpers/postgres.js';
import { createDirect, signToken, startTestServer, type TestServer, uid } from '../helpers/server.js';
import { StreamClient, type StreamMode } from '../helpers/stream-client.js';

/**
 * The HTTP fallback transport (docs/protocol.md §2.1) over real HTTP, by Server-Sent Events and by
 * long polls: the same frames and rules as the WebSocket, interoperating with WebSocket clients.
 */

const MAX_FRAME = 4096;
const isAck = (f: ServerFrame): f is AckFrame => f.type === 'ack';
const eventWith = (body: string) => (f: ServerFrame) => f.type === 'event' && f.event.body === body;

async function authed(server: TestServer, mode: StreamMode, user: string): Promise<StreamClient> {
  const stream = await StreamClient.open(server.httpUrl, mode);
  expect(await stream.post({ type: 'auth', id: 'a1', token: await signToken(user) })).toBe(204);
  await stream.waitFor((f) => f.type === 'ready');
  return stream;
}

const adminUrl = await reachablePostgres('the HTTP stream tests on PostgreSQL');

describe.each([
  ['sse', 'SQLite'],
  ['poll', 'SQLite'],
  ['sse', 'PostgreSQL'],
  ['poll', 'PostgreSQL'],
] as const)('the HTTP fallback transport by %s (%s)', (mode, store) => {
  const database = store === 'PostgreSQL' && adminUrl !== null ? useTestDatabase(adminUrl) : null;
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      maxFrameBytes: MAX_FRAME,
      allowedOrigins: ['https://app.example'],
      ...(database ? { store: 'postgres' as const, databaseUrl: database.url } : {}),
    });
  });
  afterAll(() => server?.dispose());

  it('authenticates, sends with acks, and exchanges messages with a WebSocket client', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await createDirect(server.httpUrl, alice, bob);
    const a = await authed(server, mode, alice);
    const b = await TestClient.open(server.wsUrl, { user: bob });
    try {
      const cmid = randomUUID();
      await a.post({ type: 'send', id: 's1', conversation_id: conv, client_msg_id: cmid, body: 'over HTTP' });
      const ack = (await a.waitFor(isAck)) as AckFrame;
      expect(ack).toMatchObject({ re: 's1', client_msg_id: cmid, duplicate: false });
      const live = await b.waitFor(eventWith('over HTTP'), { label: 'event on the socket' });
      expect(live.type === 'event' && live.event.seq).toBe(ack.seq);
      // The same send again is a duplicate, as over the socket.
      await a.post({ type: 'send', id: 's2', conversation_id: conv, client_msg_id: cmid, body: 'over HTTP' });
      expect(await a.waitFor((f) => isAck(f) && f.re === 's2')).toMatchObject({
        duplicate: true,
        seq: ack.seq,
      });
      await b.sendOk(conv, 'over the socket');
      await a.waitFor(eventWith('over the socket'));
    } finally {
      a.stop();
      await closeAll([b]);
    }
  });

  it('replays what a cut response lost, with no duplicate, and resumes by change token on a new stream', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await createDirect(server.httpUrl, alice, bob);
    const a = await authed(server, mode, alice);
    const b = await TestClient.open(server.wsUrl, { user: bob });
    try {
      await a.post({ type: 'sync', id: 'y1' });
      const first = (await a.waitFor((f) => f.type === 'sync_result')) as SyncResultFrame;
      for (let i = 0; i < 20; i++) {
        await b.sendOk(conv, `m${i}`);
        if (i % 4 === 0) a.cut();
      }
      await a.waitFor(eventWith('m19'));
      const seqs = a.frames
        .filter((f) => f.frame.type === 'event' && f.frame.event.conversation_id === conv)
        .map((f) => (f.frame as { event: ChatEvent }).event.seq);
      expect(seqs).toEqual([...new Set(seqs)].sort((x, y) => x - y));
      expect(seqs).toHaveLength(20);
      const numbers = a.frames.map((f) => f.id);
      expect(numbers).toEqual(numbers.map((_, i) => i + 1));

      // The client drops the stream; a new one resumes from the first token with everything since.
      a.stop();
      const again = await authed(server, mode, alice);
      await again.post({ type: 'sync', id: 'y2', since: first.token });
      const resumed = (await again.waitFor((f) => f.type === 'sync_result')) as SyncResultFrame;
      expect(resumed.events.filter((e) => e.conversation_id === conv && e.kind === 'message')).toHaveLength(
        20,
      );
      again.stop();
    } finally {
      await closeAll([b]);
    }
  });

  it('answers bad input as the socket does, and refuses unknown streams, foreign origins and big bodies', async () => {
    const a = await authed(server, mode, uid('alice'));
    try {
      await a.post('{not json', { type: 'teleport', id: 'x1' });
      await a.waitFor((f) => f.type === 'error' && f.code === 'bad_request' && f.re === undefined);
      await a.waitFor((f) => f.type === 'error' && f.code === 'unknown_frame' && f.re === 'x1');

      const unknown = await fetch(`${server.httpUrl}/v1/stream/st_nope`, { method: 'POST', body: '{}' });
      expect(unknown.status).toBe(404);
      expect((await fetch(`${server.httpUrl}/v1/stream/st_nope/poll`)).status).toBe(404);
      const foreign = await fetch(`${server.httpUrl}/v1/stream`, {
        method: 'POST',
        headers: { origin: 'https://evil.example' },
      });
      expect(foreign.status).toBe(403);
      const allowed = await fetch(`${server.httpUrl}/v1/stream`, {
        method: 'POST',
        headers: { origin: 'https://app.example' },
      });
      expect(allowed.status).toBe(201);
      const huge = await fetch(`${server.httpUrl}/v1/stream/${a.streamId}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'x'.repeat(33 * MAX_FRAME),
      });
      expect(huge.status).toBe(413);
      expect(await huge.json()).toMatchObject({ error: { code: 'frame_too_large' } });
      // One line over the frame limit closes the connection as a WebSocket frame would (1009).
      await a.post(JSON.stringify({ type: 'ping', pad: 'x'.repeat(MAX_FRAME) }));
      expect(await a.waitClosed()).toMatchObject({ code: 1009 });
      expect(await a.post({ type: 'ping' })).toBe(404);
    } finally {
      a.stop();
    }
  });
});

describe.each(['sse', 'poll'] as const)('the HTTP fallback transport by %s, on a manual clock', (mode) => {
  const clock = new ManualClock();
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(
      { pingIntervalMs: 100, pingTimeoutMs: 1_000, authTimeoutMs: 500 },
      undefined,
      {
        clock,
      },
    );
  });
  afterAll(() => server?.dispose());

  it('pings through the stream and closes a client that stops answering', async () => {
    const a = await authed(server, mode, uid('alice'));
    try {
      await clock.advance(100);
      const ping = await a.waitFor((f) => f.type === 'ping');
      await a.post({ type: 'pong', token: ping.type === 'ping' ? ping.token : '' });
      // Then silence: no pong, no frame, for longer than the timeout.
      for (let t = 0; t < 12; t++) await clock.advance(100);
      expect(await a.waitClosed()).toMatchObject({ code: 4008 });
    } finally {
      a.stop();
    }
  });

  it('closes a stream that never authenticates (4002)', async () => {
    const a = await StreamClient.open(server.httpUrl, mode);
    try {
      await clock.advance(500);
      expect(await a.waitClosed()).toMatchObject({ code: 4002 });
    } finally {
      a.stop();
    }
  });
});

describe.each(['sse', 'poll'] as const)('rate limits over the HTTP fallback (%s)', (mode) => {
  it('answers frames beyond the burst with rate_limited carrying their id, as over the socket', async () => {
    const server = await startTestServer({ frameBurst: 5, framesPerSecond: 1 }, undefined, {
      clock: new ManualClock(),
    });
    const a = await authed(server, mode, uid('flood'));
    try {
      // The auth frame took one token; time stands still, so four of these get through.
      const sends = Array.from({ length: 8 }, (_, i) => ({
        type: 'send',
        id: `r${i}`,
        conversation_id: 'c_nope',
        client_msg_id: randomUUID(),
        body: 'x',
      }));
      expect(await a.post(...sends)).toBe(204);
      const answered = () => a.frames.filter((f) => f.frame.type === 'error').map((f) => f.frame);
      await a.waitFor(() => answered().length === 8);
      const limited = answered().filter((f) => f.type === 'error' && f.code === 'rate_limited');
      expect(limited).toHaveLength(4);
      for (const f of limited)
        expect(f).toMatchObject({ retryable: true, retry_after_ms: expect.any(Number) });
      expect(limited.map((f) => f.type === 'error' && f.re).sort()).toEqual(['r4', 'r5', 'r6', 'r7']);
    } finally {
      a.stop();
      await server.dispose();
    }
  });
});

describe.each(['sse', 'poll'] as const)('draining with HTTP streams open (%s)', (mode) => {
  it('tells the stream to come back later and closes it with 1012, as a socket', async () => {
    const server = await startTestServer({ drainMaxDelayMs: 50 });
    const a = await authed(server, mode, uid('alice'));
    try {
      await server.close();
      await a.waitFor((f) => f.type === 'reconnect' && f.reason === 'server_draining');
      expect(await a.waitClosed()).toMatchObject({ code: 1012 });
    } finally {
      a.stop();
      await server.dispose();
    }
  });
});
