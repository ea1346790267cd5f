import type { ChatEvent } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  createDirect,
  signToken,
  startTestServer,
  type TestServer,
  uid,
  until as untilMet,
} from '../../server/test/helpers/server.js';
import { WsProxy } from '../../server/test/helpers/ws-proxy.js';
import { NatterClient, type NatterClientOptions, type Transport } from '../src/index.js';
import type { WebSocketLike } from '../src/socket.js';

/**
 * The SDK over each transport against the real server, through a relay that cuts connections,
 * refuses WebSocket upgrades or holds event streams back: the same messages arrive exactly once,
 * in order, and the client finds a transport that works and returns to the WebSocket when it can.
 */

interface Device {
  client: NatterClient;
  events: ChatEvent[];
  transports: Transport[];
}

function device(proxy: WsProxy, user: string, options: Partial<NatterClientOptions> = {}): Device {
  const client = new NatterClient({
    url: proxy.wsUrl,
    token: () => signToken(user),
    webSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
    ...options,
  });
  const d: Device = { client, events: [], transports: [] };
  client.on('event', (event) => d.events.push(event));
  client.on('transport', (transport) => d.transports.push(transport));
  return d;
}

/** Waits for the condition; a timeout names what was awaited. */
async function until(condition: () => boolean, timeoutMs: number, what = 'the condition'): Promise<void> {
  await untilMet(condition, timeoutMs).catch(() => {
    throw new Error(`timed out waiting for ${what}`);
  });
}

async function live(d: Device, timeoutMs = 10_000): Promise<void> {
  await d.client.connect();
  await until(() => d.client.state === 'live', timeoutMs, 'a live connection');
}

const bodies = (d: Device, conversationId: string) =>
  d.events.filter((e) => e.conversation_id === conversationId && e.kind === 'message').map((e) => e.body);

describe('the SDK over each transport', () => {
  let server: TestServer;
  let proxy: WsProxy;
  beforeAll(async () => {
    server = await startTestServer({ sendsPerSecond: 200, sendBurst: 200 });
    proxy = await WsProxy.start(server.httpUrl);
  });
  afterAll(async () => {
    await proxy?.close();
    await server?.dispose();
  });

  for (const transport of ['websocket', 'sse', 'long-poll'] as const) {
    it(`${transport}: sends and receives exactly once, in order, across connection cuts`, async () => {
      const [alice, bob] = [uid('alice'), uid('bob')];
      const conv = await createDirect(server.httpUrl, alice, bob);
      // A short first-byte limit: an event stream that did start must live on past it.
      const options = { transports: [transport], eventStreamTimeoutMs: 50 };
      const a = device(proxy, alice, options);
      const b = device(proxy, bob, options);
      let opens = 0;
      a.client.on('state', (state) => {
        if (state === 'open') opens += 1;
      });
      try {
        await live(a);
        await live(b);
        expect(a.client.transport).toBe(transport);
        const expected: string[] = [];
        for (let i = 0; i < 60; i++) {
          const [from, body] = i % 2 === 0 ? [a, `a${i}`] : [b, `b${i}`];
          from.client.send(conv, body);
          expected.push(body);
          // Every link and request in flight is cut now and then, sends and acks among them.
          if (i % 15 === 7) proxy.cutAll();
          if (i % 5 === 0) await new Promise((r) => setTimeout(r, 20));
        }
        for (const d of [a, b]) {
          await until(() => bodies(d, conv).length >= expected.length, 20_000, `${transport} delivery`);
          const seqs = d.events.filter((e) => e.conversation_id === conv).map((e) => e.seq);
          expect(seqs).toEqual([...new Set(seqs)].sort((x, y) => x - y));
          expect(bodies(d, conv).sort()).toEqual([...expected].sort());
        }
        // Each sender's messages keep the order they were written in.
        for (const prefix of ['a', 'b']) {
          const mine = bodies(a, conv).filter((body) => body?.startsWith(prefix));
          expect(mine).toEqual(expected.filter((body) => body.startsWith(prefix)));
        }
        expect(a.transports).toEqual([transport]);
        // One connection, and one more after each of the four cuts at most: nothing else drops it.
        expect(opens).toBeLessThanOrEqual(5);
      } finally {
        a.client.close();
        b.client.close();
      }
    });
  }

  it('keeps an event stream that started open past the first-byte limit (it only guards the start)', async () => {
    let pings = 0;
    const counting = await WsProxy.start(server.httpUrl, {
      toClient(frame) {
        if (frame.includes('"type":"ping"')) pings += 1;
        return 'pass';
      },
    });
    const a = device(counting, uid('alice'), { transports: ['sse'], eventStreamTimeoutMs: 50 });
    let opens = 0;
    a.client.on('state', (state) => {
      if (state === 'open') opens += 1;
    });
    try {
      await live(a);
      // Three heartbeats (200 ms apart on the test server) outlast the 50 ms limit several times.
      await until(() => pings >= 3, 10_000, 'three pings');
      expect([opens, a.client.state]).toEqual([1, 'live']);
    } finally {
      a.client.close();
      await counting.close();
    }
  });

  it('falls back to SSE where WebSocket upgrades are refused, to long polls where event streams are held back, and returns to the WebSocket', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await createDirect(server.httpUrl, alice, bob);
    // Bob talks to the server directly: only alice's network blocks and buffers.
    const b = device(proxy, bob, { url: server.wsUrl });
    await live(b);
    proxy.blockWebSockets = true;
    // Probe the WebSocket again at every reconnect once on a fallback (the default waits 5 minutes).
    const a = device(proxy, alice, { firstTransportRetryMs: 0, eventStreamTimeoutMs: 300 });
    try {
      await live(a, 30_000);
      expect(a.client.transport).toBe('sse');
      b.client.send(conv, 'to alice over SSE');
      await until(() => bodies(a, conv).includes('to alice over SSE'), 10_000, 'a message over SSE');

      proxy.bufferEventStreams = true;
      proxy.cutAll();
      await until(
        () => a.client.transport === 'long-poll' && a.client.state === 'live',
        30_000,
        'long polls',
      );
      a.client.send(conv, 'from alice by long poll');
      await until(
        () => bodies(b, conv).includes('from alice by long poll'),
        10_000,
        'a message by long poll',
      );

      // No cut: a fallback that keeps working is left by the background probe of the WebSocket
      // (every second here), not by waiting for the connection to drop.
      proxy.blockWebSockets = false;
      proxy.bufferEventStreams = false;
      await until(
        () => a.client.transport === 'websocket' && a.client.state === 'live',
        30_000,
        'the WebSocket again',
      );
      b.client.send(conv, 'back on the socket');
      await until(
        () => bodies(a, conv).includes('back on the socket'),
        10_000,
        'a message over the WebSocket',
      );
      expect(a.transports).toEqual(['sse', 'long-poll', 'websocket']);
      expect(bodies(a, conv).filter((body) => body === 'to alice over SSE')).toHaveLength(1);
    } finally {
      proxy.blockWebSockets = false;
      proxy.bufferEventStreams = false;
      a.client.close();
      b.client.close();
    }
  }, 90_000);
});
