import type { ChatEvent } from '@natter/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  backoffDelay,
  ChatState,
  type ClientState,
  NatterClient,
  type NetworkSignals,
} from '../src/index.js';
import { type ClientFrame, messageEvent, scriptedServer, summaryOf, syncAnswer } from './scripted-server.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

function connected(server: ReturnType<typeof scriptedServer>, extra: { network?: NetworkSignals } = {}) {
  // The scripted server speaks WebSocket only: the HTTP fallback has tests of its own (transports.test.ts).
  const client = new NatterClient({
    url: 'ws://test/ws',
    token: 'tok',
    webSocket: server.factory,
    transports: ['websocket'],
    ...extra,
  });
  const states: ClientState[] = [];
  client.on('state', (state) => states.push(state));
  return { client, states };
}

/** Lets the socket open and the scripted answers run. */
async function open(server: ReturnType<typeof scriptedServer>): Promise<void> {
  server.last.accept();
  await vi.advanceTimersByTimeAsync(0);
}

describe('NatterClient connection lifecycle (scripted server, fake time)', () => {
  it('goes connecting -> open -> syncing -> live, and open means authenticating before ready', async () => {
    let answerAuth = false;
    const server = scriptedServer({ override: (f) => (f.type === 'auth' && !answerAuth ? null : undefined) });
    const { client, states } = connected(server);
    await client.connect();
    expect(states).toEqual(['connecting']);
    await open(server);
    expect(states).toEqual(['connecting', 'open']);
    expect(server.last.sentOf('auth')).toHaveLength(1);
    answerAuth = true;
    server.last.drop();
    await vi.advanceTimersByTimeAsync(1000);
    await open(server);
    expect(states).toEqual(['connecting', 'open', 'offline', 'connecting', 'open', 'syncing', 'live']);
    client.close();
    expect(states.at(-1)).toBe('closed');
  });

  it('backs off with full jitter from 1 s doubling to 30 s, resetting only after a successful sync', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const server = scriptedServer();
    const { client } = connected(server);
    await client.connect();
    const delays: number[] = [];
    for (let attempt = 0; attempt < 7; attempt++) {
      const before = server.sockets.length;
      server.last.drop();
      let waited = 0;
      while (server.sockets.length === before) {
        await vi.advanceTimersByTimeAsync(1);
        waited += 1;
      }
      delays.push(waited);
    }
    expect(delays).toEqual([999, 1998, 3996, 7992, 15984, 29970, 29970]);
    expect(backoffDelay(3, 1000, 30_000, () => 0.5)).toBe(4000);
    expect(backoffDelay(3, 1000, 30_000, () => 0)).toBe(0);
    await open(server);
    expect(client.state).toBe('live');
    server.last.drop();
    await vi.advanceTimersByTimeAsync(999);
    expect(server.sockets).toHaveLength(9);
    client.close();
  });

  it('a failed sync after ready does not reset the backoff', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const server = scriptedServer({
      override: (f) =>
        f.type === 'sync'
          ? { type: 'error', re: f.id, code: 'internal', message: 'boom', retryable: true }
          : undefined,
    });
    const { client } = connected(server);
    await client.connect();
    await open(server);
    expect(server.last.closedWith?.code).toBe(4000);
    server.last.drop(4000);
    await vi.advanceTimersByTimeAsync(998);
    expect(server.sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.sockets).toHaveLength(2);
    await open(server);
    server.last.drop(4000);
    await vi.advanceTimersByTimeAsync(1997);
    expect(server.sockets).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.sockets).toHaveLength(3);
    client.close();
  });

  it("honours the server's retry_after_ms when it asks clients to come back later", async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const server = scriptedServer();
    const { client } = connected(server);
    await client.connect();
    await open(server);
    server.last.push({ type: 'reconnect', reason: 'server_draining', retry_after_ms: 4000 });
    server.last.drop(1012);
    await vi.advanceTimersByTimeAsync(3999);
    expect(server.sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.sockets).toHaveLength(2);
    client.close();
  });

  it('after a restart (1012) retries every 0.25-2 s, not with a grown backoff, until the server is back', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const server = scriptedServer();
    const { client } = connected(server);
    await client.connect();
    await open(server);
    server.last.push({ type: 'reconnect', reason: 'server_draining', retry_after_ms: 300 });
    server.last.drop(1012);
    // The server stays down for 8 attempts (each refused at once), then comes back.
    const gaps: number[] = [];
    for (let attempt = 0; attempt < 8; attempt++) {
      const before = server.sockets.length;
      let waited = 0;
      while (server.sockets.length === before) {
        await vi.advanceTimersByTimeAsync(1);
        waited += 1;
      }
      gaps.push(waited);
      server.last.drop(1006);
    }
    // Exponential backoff would have waited 1, 2, 4, 8, 16, 30, 30 s after the first retry.
    expect(gaps).toEqual([1998, 1998, 1998, 1998, 1998, 1998, 1998, 1998]);
    const before = server.sockets.length;
    await vi.advanceTimersByTimeAsync(1998);
    expect(server.sockets.length).toBe(before + 1);
    await open(server);
    expect(client.state).toBe('live');
    // Once live again, an ordinary drop uses the ordinary backoff from its start.
    server.last.drop(1006);
    await vi.advanceTimersByTimeAsync(998);
    expect(server.sockets.length).toBe(before + 1);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.sockets.length).toBe(before + 2);
    client.close();
  });

  it('treats a socket as dead after two missing pings, without waiting for its close', async () => {
    const server = scriptedServer({ heartbeatIntervalMs: 1000 });
    const { client } = connected(server);
    await client.connect();
    await open(server);
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(1000);
      server.last.push({ type: 'ping', token: 't' });
    }
    expect(client.state).toBe('live');
    expect(server.last.sentOf('pong')).toHaveLength(5);
    await vi.advanceTimersByTimeAsync(2999);
    expect(client.state).toBe('live');
    await vi.advanceTimersByTimeAsync(1);
    // The dead socket never reports its close: the client moved on by itself.
    expect(server.sockets[0]?.closedWith?.code).toBe(4000);
    expect(client.state).toBe('offline');
    client.close();
  });

  it('drops the socket when the device goes offline and reconnects at once when it is back', async () => {
    const listeners: Record<'online' | 'offline', Array<() => void>> = { online: [], offline: [] };
    const removed: string[] = [];
    const network: NetworkSignals = {
      onOnline: (l) => {
        listeners.online.push(l);
        return () => removed.push('online');
      },
      onOffline: (l) => {
        listeners.offline.push(l);
        return () => removed.push('offline');
      },
    };
    const server = scriptedServer();
    const { client } = connected(server, { network });
    await client.connect();
    await open(server);
    for (const l of listeners.offline) l();
    expect(client.state).toBe('offline');
    for (const l of listeners.online) l();
    expect(server.sockets).toHaveLength(2);
    await open(server);
    expect(client.state).toBe('live');
    client.close();
    expect(removed.sort()).toEqual(['offline', 'online']);
  });

  it('a live seq jump, or an ack beyond a hole, fetches the missing range at once', async () => {
    const server = scriptedServer({
      override: (f) => {
        const re = f.id ?? '';
        if (f.type === 'sync') return syncAnswer(f, [summaryOf('c1', 5)]);
        if (f.type === 'send') {
          const ack = {
            conversation_id: 'c1',
            client_msg_id: String(f.client_msg_id),
            seq: 12,
            created_at: 0,
            duplicate: false,
          };
          return { type: 'ack', re, ...ack };
        }
        if (f.type !== 'fetch') return undefined;
        // Everything after the asked seq up to the one before the frame that revealed the hole.
        const after = Number(f.after_seq);
        const upTo = after < 8 ? 7 : 11;
        const events = Array.from({ length: upTo - after }, (_, i) => messageEvent('c1', after + 1 + i));
        return { type: 'events', re, conversation_id: 'c1', events, has_more: false };
      },
    });
    const { client } = connected(server);
    const seen: number[] = [];
    client.on('event', (e) => seen.push(e.seq));
    await client.connect();
    await open(server);
    server.last.push({ type: 'event', event: messageEvent('c1', 8) });
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toEqual([6, 7, 8]);
    await client.send('c1', 'mine');
    await vi.advanceTimersByTimeAsync(0);
    expect(server.last.sentOf('fetch').map((f) => f.after_seq)).toEqual([5, 8]);
    expect(seen).toEqual([6, 7, 8, 9, 10, 11, 12]);
    client.close();
  });

  it('a hole that our own unacked send will fill is not fetched; one bigger than our sends is', async () => {
    const sends: ClientFrame[] = [];
    const server = scriptedServer({
      override: (f) => {
        if (f.type === 'send') {
          sends.push(f);
          return null;
        }
        if (f.type !== 'sync') return undefined;
        return syncAnswer(f, [summaryOf('c1', 5)]);
      },
    });
    const { client } = connected(server);
    const seen: number[] = [];
    client.on('event', (e) => seen.push(e.seq));
    await client.connect();
    await open(server);
    await client.send('c1', 'mine');
    await vi.advanceTimersByTimeAsync(0);
    // The peer's message (seq 7) overtakes the ack of ours (seq 6): no fetch.
    server.last.push({ type: 'event', event: messageEvent('c1', 7) });
    await vi.advanceTimersByTimeAsync(0);
    expect(server.last.sentOf('fetch')).toEqual([]);
    const mine = sends[0]!;
    server.last.push({
      type: 'ack',
      re: mine.id ?? '',
      conversation_id: 'c1',
      client_msg_id: String(mine.client_msg_id),
      seq: 6,
      created_at: 0,
      duplicate: false,
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toEqual([6, 7]);
    expect(server.last.sentOf('fetch')).toEqual([]);
    // Two missing seqs with one send awaiting its ack: a real hole, fetched at once.
    await client.send('c1', 'mine again');
    await vi.advanceTimersByTimeAsync(0);
    server.last.push({ type: 'event', event: messageEvent('c1', 10) });
    await vi.advanceTimersByTimeAsync(0);
    expect(server.last.sentOf('fetch').map((f) => f.after_seq)).toEqual([7]);
    client.close();
  });

  it('a hole left for our unacked sends is fetched anyway after 1 s (a client that keeps sending)', async () => {
    const server = scriptedServer({
      override: (f) => {
        if (f.type === 'send') return null;
        if (f.type !== 'sync') return undefined;
        return syncAnswer(f, [summaryOf('c1', 5)]);
      },
    });
    const { client } = connected(server);
    await client.connect();
    await open(server);
    await client.send('c1', 'mine');
    await vi.advanceTimersByTimeAsync(0);
    server.last.push({ type: 'event', event: messageEvent('c1', 7) });
    await vi.advanceTimersByTimeAsync(999);
    expect(server.last.sentOf('fetch')).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.last.sentOf('fetch').map((f) => f.after_seq)).toEqual([5]);
    client.close();
  });

  it('our own message coming back through sync before its ack settles the send', async () => {
    let stored: ClientFrame | undefined;
    const server = scriptedServer({
      override: (f) => {
        if (f.type === 'send') {
          stored = f;
          return null;
        }
        if (f.type !== 'sync' || !stored) return undefined;
        const own = { ...messageEvent('c1', 6, 'me'), client_msg_id: String(stored.client_msg_id) };
        return syncAnswer(f, [summaryOf('c1', 6)], { events: [own], token: 't2' });
      },
    });
    const { client } = connected(server);
    const outbox: string[] = [];
    client.on('outbox', (e) => outbox.push(`${e.state}${e.seq === undefined ? '' : `@${e.seq}`}`));
    await client.connect();
    await open(server);
    await client.send('c1', 'mine');
    await vi.advanceTimersByTimeAsync(0);
    expect(stored).toBeDefined();
    // The ack is lost with the connection; the resume's sync brings the message back.
    server.last.drop();
    await vi.advanceTimersByTimeAsync(1000);
    await open(server);
    expect(outbox).toEqual(['sending', 'sent@6']);
    // Nothing is sent again: the message is stored.
    expect(server.last.sentOf('send')).toEqual([]);
    client.close();
  });

  it('sends settled by a sync before their acks still free their window slots when the acks come', async () => {
    const held: ClientFrame[] = [];
    let syncEvents: ChatEvent[] = [];
    const server = scriptedServer({
      override: (f) => {
        if (f.type === 'send') {
          held.push(f);
          return null;
        }
        if (f.type !== 'sync') return undefined;
        return syncAnswer(f, [summaryOf('c1', 1)], { events: syncEvents, token: `t${syncEvents.length}` });
      },
    });
    const { client } = connected(server);
    await client.connect();
    await open(server);
    for (let i = 0; i < 40; i++) await client.send('c1', `m${i}`);
    await vi.advanceTimersByTimeAsync(0);
    expect(held).toHaveLength(32);
    // A heartbeat sync brings all 32 back (stored) before any ack arrives.
    syncEvents = held.map((f, i) => ({
      ...messageEvent('c1', 2 + i, 'me'),
      client_msg_id: String(f.client_msg_id),
    }));
    server.last.push({ type: 'ping', token: 'moved' });
    await vi.advanceTimersByTimeAsync(0);
    expect(held).toHaveLength(32);
    for (const [i, f] of held.slice(0, 32).entries())
      server.last.push({
        type: 'ack',
        re: f.id ?? '',
        conversation_id: 'c1',
        client_msg_id: String(f.client_msg_id),
        seq: 2 + i,
        created_at: 0,
        duplicate: false,
      });
    await vi.advanceTimersByTimeAsync(0);
    expect(held.map((f) => f.body)).toEqual(Array.from({ length: 40 }, (_, i) => `m${i}`));
    client.close();
  });

  it('a resume reports what it already holds (held), so the server leaves those events out', async () => {
    const server = scriptedServer({
      override: (f) => {
        if (f.type !== 'sync') return undefined;
        return syncAnswer(f, [summaryOf('c1', 5)], { token: `t${server.sockets.length}` });
      },
    });
    const { client } = connected(server);
    await client.connect();
    await open(server);
    expect(server.last.sentOf('sync')[0]).not.toHaveProperty('held');
    for (let seq = 6; seq <= 9; seq++) server.last.push({ type: 'event', event: messageEvent('c1', seq) });
    await vi.advanceTimersByTimeAsync(0);
    server.last.drop();
    await vi.advanceTimersByTimeAsync(1000);
    await open(server);
    expect(server.last.sentOf('sync')).toEqual([
      expect.objectContaining({ since: 't1', held: [{ conversation_id: 'c1', seq: 9 }] }),
    ]);
    // The next resume only reports conversations touched since this one.
    server.last.drop();
    await vi.advanceTimersByTimeAsync(1000);
    await open(server);
    expect(server.last.sentOf('sync')[0]).not.toHaveProperty('held');
    client.close();
  });

  it('a hole fill cut short by a lost connection is done again on the next connection', async () => {
    let answerFetch = false;
    const server = scriptedServer({
      override: (f) => {
        if (f.type === 'fetch' && !answerFetch) return null;
        if (f.type !== 'sync') return undefined;
        return syncAnswer(f, [summaryOf('c1', 5)]);
      },
    });
    const { client } = connected(server);
    await client.connect();
    await open(server);
    server.last.push({ type: 'event', event: messageEvent('c1', 8) });
    await vi.advanceTimersByTimeAsync(0);
    expect(server.last.sentOf('fetch')).toHaveLength(1);
    server.last.drop();
    answerFetch = true;
    await vi.advanceTimersByTimeAsync(1000);
    await open(server);
    expect(server.last.sentOf('fetch').map((f) => f.after_seq)).toEqual([5]);
    client.close();
  });

  it('keeps at most 32 sends awaiting their ack, and sends the rest as acks come back', async () => {
    const held: ClientFrame[] = [];
    const server = scriptedServer({
      override: (f) => {
        if (f.type !== 'send') return undefined;
        held.push(f);
        return null;
      },
    });
    const { client } = connected(server);
    await client.connect();
    for (let i = 0; i < 100; i++) await client.send('c1', `m${i}`);
    await open(server);
    expect(held).toHaveLength(32);
    const first = held[0]!;
    server.last.push({
      type: 'ack',
      re: first.id ?? '',
      conversation_id: 'c1',
      client_msg_id: String(first.client_msg_id),
      seq: 2,
      created_at: 0,
      duplicate: false,
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(held).toHaveLength(33);
    expect(held.map((f) => f.body)).toEqual(Array.from({ length: 33 }, (_, i) => `m${i}`));
    client.close();
  });

  it('a send made while live waits its turn: the window holds, and a refused send is not overtaken', async () => {
    const held: ClientFrame[] = [];
    let refuseNext = false;
    const server = scriptedServer({
      override: (f) => {
        if (f.type !== 'send') return undefined;
        held.push(f);
        if (!refuseNext) return null;
        refuseNext = false;
        return {
          type: 'error',
          re: f.id ?? '',
          code: 'rate_limited',
          message: 'slow down',
          retryable: true,
          retry_after_ms: 500,
        };
      },
    });
    const { client } = connected(server);
    await client.connect();
    await open(server);
    for (let i = 0; i < 40; i++) await client.send('c1', `m${i}`);
    expect(held.map((f) => f.body)).toEqual(Array.from({ length: 32 }, (_, i) => `m${i}`));
    client.close();

    // Another client whose first send is refused: what is written during the wait goes out after it.
    held.length = 0;
    refuseNext = true;
    const second = connected(server).client;
    await second.connect();
    await second.send('c2', 'first');
    await open(server);
    expect(held.map((f) => f.body)).toEqual(['first']);
    await second.send('c2', 'written during the wait');
    await vi.advanceTimersByTimeAsync(100);
    expect(held.map((f) => f.body)).toEqual(['first']);
    await vi.advanceTimersByTimeAsync(500);
    expect(held.map((f) => f.body)).toEqual(['first', 'first', 'written during the wait']);
    second.close();
  });

  it('close() leaves no timer running: requests, receipts, retries, reconnects, heartbeats', async () => {
    const server = scriptedServer({
      override: (f) =>
        f.type === 'send'
          ? {
              type: 'error',
              re: f.id,
              code: 'rate_limited',
              message: 'slow',
              retryable: true,
              retry_after_ms: 500,
            }
          : f.type === 'history'
            ? null
            : undefined,
    });
    const { client } = connected(server);
    await client.connect();
    await open(server);
    await client.send('c1', 'later');
    server.last.push({ type: 'event', event: messageEvent('c2', 1) });
    const unanswered = client.history('c1').catch((error: Error) => error.message);
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBeGreaterThanOrEqual(4);
    client.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(await unanswered).toBe('Connection lost.');
    expect(server.last.closedWith?.code).toBe(1000);
    // Receipts that were waiting for their batch went out before the socket closed.
    expect(server.last.sentOf('receipt')).toEqual([
      { type: 'receipt', conversation_id: 'c2', kind: 'delivered', seq: 1 },
    ]);

    const offline = scriptedServer();
    const idle = connected(offline).client;
    await idle.connect();
    offline.last.drop();
    expect(vi.getTimerCount()).toBe(1);
    idle.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ChatState.close() stops following the client and clears its typing timers', async () => {
    const server = scriptedServer({
      override: (f) => (f.type === 'sync' ? syncAnswer(f, [summaryOf('c1', 5)]) : undefined),
    });
    const { client } = connected(server);
    const state = new ChatState(client);
    await client.connect();
    await open(server);
    server.last.push({
      type: 'typing',
      conversation_id: 'c1',
      user_id: 'peer',
      state: 'start',
      ttl_ms: 6000,
    });
    expect(state.typingIn('c1')).toEqual(['peer']);
    state.close();
    server.last.push({ type: 'event', event: messageEvent('c1', 6) });
    expect(state.messages('c1')).toEqual([]);
    client.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});
