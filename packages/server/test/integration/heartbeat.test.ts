import type { ServerPingFrame } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, TestClient } from '../helpers/client.js';
import { sleep, startTestServer, type TestServer, uid } from '../helpers/server.js';

const PING_INTERVAL = 100;
const PING_TIMEOUT = 1_000;

describe('heartbeat', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ pingIntervalMs: PING_INTERVAL, pingTimeoutMs: PING_TIMEOUT });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('the server pings about every pingIntervalMs with a token', async () => {
    const c = await TestClient.open(server.wsUrl, { user: uid('hb') });
    try {
      expect(c.ready?.heartbeat_interval_ms).toBe(PING_INTERVAL);
      expect(c.ready?.heartbeat_timeout_ms).toBe(PING_TIMEOUT);
      const from = c.mark();
      await sleep(PING_INTERVAL * 6);
      const pings = c.frames.slice(from).filter((f): f is ServerPingFrame => f.type === 'ping');
      expect(pings.length).toBeGreaterThanOrEqual(3);
      expect(pings.length).toBeLessThanOrEqual(12);
      expect(pings.every((p) => typeof p.token === 'string' && p.token.length > 0)).toBe(true);
    } finally {
      await c.close();
    }
  });

  it('a client that answers pings stays connected well past pingTimeoutMs', async () => {
    const c = await TestClient.open(server.wsUrl, { user: uid('alive') });
    try {
      await sleep(PING_TIMEOUT * 2);
      expect(c.isOpen, `closed: ${JSON.stringify(c.closeInfo)}`).toBe(true);
      await c.pingPong();
    } finally {
      await c.close();
    }
  });

  it('a client that says nothing for pingTimeoutMs is closed 4008', async () => {
    const c = await TestClient.open(server.wsUrl, { user: uid('mute') }, { autoPong: false });
    const start = Date.now();
    const closed = await c.waitClosed(PING_TIMEOUT * 8);
    expect(closed.code).toBe(4008);
    const elapsed = Date.now() - start;
    expect(elapsed).toBeGreaterThanOrEqual(PING_TIMEOUT - 50);
    expect(elapsed).toBeLessThan(PING_TIMEOUT * 6);
  });

  it('any frame counts as alive: a client that only sends its own pings stays connected', async () => {
    const c = await TestClient.open(server.wsUrl, { user: uid('chatty') }, { autoPong: false });
    const timer = setInterval(() => c.isOpen && c.sendJson({ type: 'ping' }), PING_TIMEOUT / 10);
    try {
      await sleep(PING_TIMEOUT * 2);
      expect(c.isOpen, `closed: ${JSON.stringify(c.closeInfo)}`).toBe(true);
      expect(c.frames.filter((f) => f.type === 'pong').length).toBeGreaterThan(5);
    } finally {
      clearInterval(timer);
      await closeAll([c]);
    }
  });
});
