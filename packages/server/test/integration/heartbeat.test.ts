import type { ServerFrame, ServerPingFrame } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, TestClient } from '../helpers/client.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startTestServer, type TestServer, uid } from '../helpers/server.js';

const PING_INTERVAL = 100;
const PING_TIMEOUT = 1_000;

const isPing = (f: ServerFrame): f is ServerPingFrame => f.type === 'ping';

/**
 * The server's time is a ManualClock: it moves only by `advance`. Every test moves it by whole ping
 * intervals, so each connection authenticates on the heartbeat's tick and its pings fall due exactly
 * at the end of each interval.
 */
describe('heartbeat', () => {
  const clock = new ManualClock();
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(
      { pingIntervalMs: PING_INTERVAL, pingTimeoutMs: PING_TIMEOUT },
      undefined,
      {
        clock,
      },
    );
  });
  afterAll(async () => {
    await server?.dispose();
  });

  /** Advances one ping interval and waits for the ping it brings. */
  async function nextPing(c: TestClient, label: string): Promise<ServerPingFrame> {
    const from = c.mark();
    await clock.advance(PING_INTERVAL);
    return c.waitFor<ServerPingFrame>(isPing, { from, label });
  }

  it('the server pings every pingIntervalMs with a token, not before', async () => {
    const c = await TestClient.open(server.wsUrl, { user: uid('hb') });
    try {
      expect(c.ready?.heartbeat_interval_ms).toBe(PING_INTERVAL);
      expect(c.ready?.heartbeat_timeout_ms).toBe(PING_TIMEOUT);
      const from = c.mark();
      await clock.advance(PING_INTERVAL - 1);
      await c.pingPong(); // anything sent before it has arrived
      expect(c.frames.slice(from).filter(isPing)).toEqual([]);
      await clock.advance(1);
      await c.waitFor(isPing, { from, label: 'first ping' });
      for (let i = 2; i <= 6; i++) await nextPing(c, `ping ${i}`);
      await c.pingPong();
      const pings = c.frames.slice(from).filter(isPing);
      expect(pings).toHaveLength(6);
      expect(pings.every((p) => typeof p.token === 'string' && p.token.length > 0)).toBe(true);
    } finally {
      await c.close();
    }
  });

  it('a client that answers pings stays connected well past pingTimeoutMs', async () => {
    const c = await TestClient.open(server.wsUrl, { user: uid('alive') });
    try {
      for (let i = 1; i <= (PING_TIMEOUT * 2) / PING_INTERVAL; i++) await nextPing(c, `ping ${i}`);
      expect(c.isOpen, `closed: ${JSON.stringify(c.closeInfo)}`).toBe(true);
      await c.pingPong();
    } finally {
      await c.close();
    }
  });

  it('a client that says nothing for pingTimeoutMs is closed 4008, not before', async () => {
    const c = await TestClient.open(server.wsUrl, { user: uid('mute') }, { autoPong: false });
    // Still pinged (so not closed) at every interval up to the timeout...
    for (let i = 1; i <= PING_TIMEOUT / PING_INTERVAL; i++) await nextPing(c, `ping ${i}`);
    expect(c.closeInfo).toBeUndefined();
    // ...and closed within the next interval.
    await clock.advance(PING_INTERVAL);
    const closed = await c.waitClosed();
    expect(closed.code).toBe(4008);
  });

  it('any frame counts as alive: a client that only sends its own pings stays connected', async () => {
    const c = await TestClient.open(server.wsUrl, { user: uid('chatty') }, { autoPong: false });
    try {
      const step = PING_TIMEOUT / 10;
      for (let elapsed = 0; elapsed < PING_TIMEOUT * 2; elapsed += step) {
        await c.pingPong();
        await clock.advance(step);
      }
      await c.pingPong();
      expect(c.isOpen, `closed: ${JSON.stringify(c.closeInfo)}`).toBe(true);
      expect(c.frames.filter((f) => f.type === 'pong').length).toBeGreaterThan(5);
    } finally {
      await closeAll([c]);
    }
  });
});
