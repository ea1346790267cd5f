import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/client.js';
import { apiFrom, parseRawAnswer, RawConnection } from '../helpers/raw-http.js';
import { api, sleep, startTestServer, type TestServer, uid } from '../helpers/server.js';

const HEADERS_TIMEOUT_MS = 300;
const REQUEST_TIMEOUT_MS = 600;
/** Generous: the outcome is what is checked, not how fast it came. */
const CLOSED_WELL_WITHIN_MS = 10_000;

/** Clients that hold a connection by sending slowly are cut off; a finished request's socket is not. */
describe('HTTP request timeouts', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      httpHeadersTimeoutMs: HEADERS_TIMEOUT_MS,
      httpRequestTimeoutMs: REQUEST_TIMEOUT_MS,
    });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('a body sent one byte at a time is answered request_timeout (408) and the socket closed', async () => {
    const c = await RawConnection.open(server.port);
    c.write(
      'POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n',
    );
    void c.drip('{'.padEnd(1000, ' '), 50);
    try {
      expect(await c.closesWithin(CLOSED_WELL_WITHIN_MS)).toBe(true);
      expect(parseRawAnswer(c.received)).toEqual({
        status: 408,
        body: { error: { code: 'request_timeout', message: expect.any(String), retryable: true } },
      });
    } finally {
      c.destroy();
    }
  });

  it('headers sent one byte at a time are cut off the same way', async () => {
    const c = await RawConnection.open(server.port);
    void c.drip(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(1000)}\r\n\r\n`, 50);
    try {
      expect(await c.closesWithin(CLOSED_WELL_WITHIN_MS)).toBe(true);
      expect(parseRawAnswer(c.received).status).toBe(408);
    } finally {
      c.destroy();
    }
  });

  it('a connection that never sends a request is closed', async () => {
    const c = await RawConnection.open(server.port);
    try {
      expect(await c.closesWithin(CLOSED_WELL_WITHIN_MS)).toBe(true);
    } finally {
      c.destroy();
    }
  });

  it('an idle keep-alive connection outlives the request timeout and serves the next request', async () => {
    const c = await RawConnection.open(server.port);
    try {
      c.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await c.waitFor('"status"');
      expect(c.received).toMatch(/^HTTP\/1\.1 200/);
      await sleep(3 * REQUEST_TIMEOUT_MS);
      expect(c.open).toBe(true);
      c.received = '';
      c.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await c.waitFor('"status"');
      expect(c.received).toMatch(/^HTTP\/1\.1 200/);
    } finally {
      c.destroy();
    }
  });

  it('an upgraded WebSocket is not subject to the HTTP timeouts', async () => {
    const c = await TestClient.open(server.wsUrl, { user: uid('ws') });
    try {
      await sleep(3 * REQUEST_TIMEOUT_MS);
      expect(c.isOpen).toBe(true);
      await c.pingPong();
    } finally {
      await c.close();
    }
  });
});

/** Requests the HTTP parser or the router refuses before any route runs still get a catalogue error. */
describe('HTTP answers before routing', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const badRequest = { error: { code: 'bad_request', message: expect.any(String), retryable: false } };

  it('a path segment over the router limit is bad_request', async () => {
    const res = await api(server.httpUrl, 'GET', `/v1/conversations/${'c'.repeat(300)}`, {
      headers: { authorization: 'Bearer x' },
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(badRequest);
  });

  it('a URL or headers over 16 KiB are bad_request, written by the server itself', async () => {
    for (const request of [
      `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    ]) {
      const c = await RawConnection.open(server.port);
      c.write(request);
      expect(await c.closesWithin(CLOSED_WELL_WITHIN_MS)).toBe(true);
      expect(parseRawAnswer(c.received)).toEqual({ status: 400, body: badRequest });
    }
  });

  it('a request that is not HTTP is bad_request', async () => {
    const c = await RawConnection.open(server.port);
    c.write('HELLO\r\n\r\n');
    expect(await c.closesWithin(CLOSED_WELL_WITHIN_MS)).toBe(true);
    expect(parseRawAnswer(c.received)).toEqual({ status: 400, body: badRequest });
  });
});

const MAX_PER_IP = 4;

/** Connections held open by one address (slow or idle) cannot take every socket from the others. */
describe('HTTP connections per client address', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ maxHttpConnectionsPerIp: MAX_PER_IP });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  async function openHeld(count: number, localAddress = '127.0.0.1'): Promise<RawConnection[]> {
    return Promise.all(
      Array.from({ length: count }, () => RawConnection.open(server.port, { localAddress })),
    );
  }

  it('one more than the cap is refused with rate_limited (429); another address is still served', async () => {
    const held = await openHeld(MAX_PER_IP);
    const refused = await RawConnection.open(server.port);
    try {
      expect(await refused.closesWithin(CLOSED_WELL_WITHIN_MS)).toBe(true);
      expect(parseRawAnswer(refused.received)).toEqual({
        status: 429,
        body: {
          error: {
            code: 'rate_limited',
            message: expect.any(String),
            retryable: true,
            retry_after_ms: expect.any(Number),
          },
        },
      });
      expect(refused.received).toMatch(/\r\nRetry-After: \d+\r\n/);
      expect(held.every((c) => c.open)).toBe(true);

      const other = await apiFrom('127.0.0.2', server.port, 'GET', '/healthz');
      expect(other.status).toBe(200);
    } finally {
      for (const c of [...held, refused]) c.destroy();
    }
  });

  it('a closed connection frees its slot', async () => {
    const held = await openHeld(MAX_PER_IP, '127.0.0.3');
    try {
      held.shift()?.destroy();
      await sleep(50);
      expect((await apiFrom('127.0.0.3', server.port, 'GET', '/healthz')).status).toBe(200);
    } finally {
      for (const c of held) c.destroy();
    }
  });

  it('WebSockets stop counting once upgraded', async () => {
    const clients = await Promise.all(
      Array.from({ length: MAX_PER_IP + 1 }, () => TestClient.open(server.wsUrl, { user: uid('ws') })),
    );
    try {
      expect((await api(server.httpUrl, 'GET', '/healthz')).status).toBe(200);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('a refused upgrade is closed once answered, even when the client keeps its side open', async () => {
    const c = await RawConnection.open(server.port, { halfOpen: true });
    try {
      c.write(
        'GET /not-ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
      await c.waitFor('\r\n\r\n');
      expect(c.received).toMatch(/^HTTP\/1\.1 404/);
      // A closed server socket answers with a reset, which the client notices on its next write.
      void c.drip('still here?', 50);
      expect(await c.closesWithin(CLOSED_WELL_WITHIN_MS)).toBe(true);
    } finally {
      c.destroy();
    }
  });

  it('a trusted proxy is exempt: its clients share its address', async () => {
    const proxied = await startTestServer({ maxHttpConnectionsPerIp: 1, trustProxy: ['loopback'] });
    const held = await Promise.all([RawConnection.open(proxied.port), RawConnection.open(proxied.port)]);
    try {
      expect((await api(proxied.httpUrl, 'GET', '/healthz')).status).toBe(200);
      expect(held.every((c) => c.open)).toBe(true);
    } finally {
      for (const c of held) c.destroy();
      await proxied.dispose();
    }
  });
});
