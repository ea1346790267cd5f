import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, expectError, expectFrame, TestClient, tryUpgrade } from '../helpers/client.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { signToken, startTestServer, type TestServer, uid } from '../helpers/server.js';

const AUTH_TIMEOUT = 300;
const ALLOWED = 'https://app.example.com';

/** The server's time is a ManualClock: timeouts run only as far as a test advances it. */
describe('WebSocket handshake: auth and origin', () => {
  const clock = new ManualClock();
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ authTimeoutMs: AUTH_TIMEOUT, allowedOrigins: [ALLOWED] }, undefined, {
      clock,
    });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('a good token gets ready with the token subject as user id', async () => {
    const user = uid('good');
    const c = await TestClient.connect(server.wsUrl);
    try {
      const r = expectFrame(await c.auth(await signToken(user), 'dev-1'), 'ready');
      expect(r.user_id).toBe(user);
      expect(r.device_id).toBe('dev-1');
      expect(r.heartbeat_timeout_ms).toBeGreaterThan(r.heartbeat_interval_ms);
    } finally {
      await c.close();
    }
  });

  it('device_id null (or omitted) means no device id', async () => {
    const c = await TestClient.connect(server.wsUrl);
    const bare = await TestClient.connect(server.wsUrl);
    try {
      c.sendJson({ type: 'auth', id: 'null-device', token: await signToken(uid('nodev')), device_id: null });
      const r = await c.waitFor((f) => f.type === 'ready' || f.type === 'error');
      expect(r).toMatchObject({ type: 'ready', re: 'null-device', device_id: null });
      expect(expectFrame(await bare.auth(await signToken(uid('bare'))), 'ready').device_id).toBeNull();
    } finally {
      await closeAll([c, bare]);
    }
  });

  it('an auth frame with an id gets ready answering it', async () => {
    const c = await TestClient.connect(server.wsUrl);
    try {
      c.sendJson({ type: 'auth', id: 'auth-1', token: await signToken(uid('withid')) });
      const r = await c.waitFor((f) => f.type === 'ready' || f.type === 'error');
      expect(r).toMatchObject({ type: 'ready', re: 'auth-1' });
    } finally {
      await c.close();
    }
  });

  /** Sends a frame before auth and waits for its unauthenticated answer: the socket is still served. */
  async function stillServed(c: TestClient, frame: { type: string }): Promise<void> {
    const from = c.mark();
    c.sendJson(frame);
    expectError(await c.waitFor((f) => f.type === 'error', { from }), 'unauthenticated');
  }

  it('no auth frame within authTimeoutMs: close 4002, not before', async () => {
    const c = await TestClient.connect(server.wsUrl);
    await clock.advance(AUTH_TIMEOUT - 1);
    await stillServed(c, { type: 'ping' });
    await clock.advance(1);
    expect((await c.waitClosed()).code).toBe(4002);
  });

  it('heartbeat pongs do not count as auth: still closed 4002', async () => {
    const c = await TestClient.connect(server.wsUrl);
    for (let elapsed = 0; elapsed < AUTH_TIMEOUT; elapsed += 50) {
      await stillServed(c, { type: 'pong' });
      await clock.advance(50);
    }
    expect((await c.waitClosed()).code).toBe(4002);
  });

  it('an open connection is closed 4003 when its token expires, not before', async () => {
    // exp is in whole seconds, a minute ahead of both the server's clock and the real one (which
    // the token's signature check reads).
    const expiresAt = (Math.floor(Math.max(clock.now(), Date.now()) / 1000) + 60) * 1000;
    const c = await TestClient.open(server.wsUrl, {
      token: await signToken(uid('expiring'), { expiresIn: expiresAt / 1000 }),
    });
    try {
      // In steps, answering pings, so the heartbeat timeout never comes into it.
      while (clock.now() < expiresAt - 1) {
        await clock.advance(Math.min(5_000, expiresAt - 1 - clock.now()));
        await c.pingPong();
      }
      await clock.advance(1);
      expect((await c.waitClosed()).code).toBe(4003);
    } finally {
      await c.close();
    }
  });

  it.each([
    ['garbage', async () => 'not-a-jwt'],
    ['wrong secret', async () => signToken(uid('w'), { secret: 'another-secret-abcdefghijklmnop' })],
    ['expired', async () => signToken(uid('e'), { expiresIn: Math.floor(Date.now() / 1000) - 60 })],
  ])('bad token (%s): auth_failed error then close 4001', async (name, make) => {
    const c = await TestClient.connect(server.wsUrl);
    const answer = await c.auth(await make());
    const closed = await c.waitClosed();
    const code = expectError(answer).code;
    if (name === 'expired') {
      // an expired token may be reported as token_expired (close 4003) or auth_failed (close 4001)
      expect(['auth_failed', 'token_expired']).toContain(code);
      expect(closed.code).toBe(code === 'auth_failed' ? 4001 : 4003);
    } else {
      expect(code).toBe('auth_failed');
      expect(closed.code).toBe(4001);
    }
  });

  it('a token in the URL is never read', async () => {
    const token = await signToken(uid('url'));
    const c = await TestClient.connect(`${server.wsUrl}?token=${token}&access_token=${token}`);
    const mark = c.mark();
    c.sendJson({ type: 'sync', id: 's1' });
    const e = expectError(await c.waitFor((f) => f.type === 'error', { from: mark }), 'unauthenticated');
    expect(e.re).toBe('s1');
    await c.close();
  });

  it('requests before auth get unauthenticated; auth afterwards still works', async () => {
    const c = await TestClient.connect(server.wsUrl);
    try {
      const e = expectError(await c.request({ type: 'history', conversation_id: 'c_x' }), 'unauthenticated');
      expect(e.retryable).toBe(false);
      expect(c.isOpen).toBe(true);
      expect((await c.auth(await signToken(uid('late')))).type).toBe('ready');
    } finally {
      await c.close();
    }
  });

  it('a second auth on an authenticated connection is already_authenticated', async () => {
    const user = uid('twice');
    const c = await TestClient.open(server.wsUrl, { user });
    try {
      const mark = c.mark();
      c.sendJson({ type: 'auth', id: 'again', token: await signToken(uid('someone-else')) });
      const e = expectError(
        await c.waitFor((f) => f.type === 'error', { from: mark }),
        'already_authenticated',
      );
      expect(e.re).toBe('again');
      const s = expectFrame(await c.sync(), 'sync_result');
      expect(s.type).toBe('sync_result');
      expect(c.ready?.user_id).toBe(user);
    } finally {
      await c.close();
    }
  });

  it('Origin not in allowedOrigins gets HTTP 403 on upgrade; allowed, same-origin and absent Origin pass', async () => {
    expect(await tryUpgrade(server.wsUrl, { origin: 'https://evil.example.com' })).toBe(403);
    expect(await tryUpgrade(server.wsUrl, { origin: 'null' })).toBe(403);
    expect(await tryUpgrade(server.wsUrl, { origin: ALLOWED })).toBe(101);
    expect(await tryUpgrade(server.wsUrl)).toBe(101);
    expect(await tryUpgrade(server.wsUrl, { origin: `http://127.0.0.1:${server.port}` })).toBe(101);
  });

  it('Origin is compared as documented: the allowlist exactly, the own host by host and port only', async () => {
    // Behind a TLS terminator the page is https:// while the server sees plain HTTP: same host passes.
    expect(await tryUpgrade(server.wsUrl, { origin: `https://127.0.0.1:${server.port}` })).toBe(101);
    expect(await tryUpgrade(server.wsUrl, { origin: `http://127.0.0.1:${server.port + 1}` })).toBe(403);
    expect(await tryUpgrade(server.wsUrl, { origin: `${ALLOWED}/` })).toBe(403);
    expect(await tryUpgrade(server.wsUrl, { origin: ALLOWED.replace('https:', 'http:') })).toBe(403);
    expect(await tryUpgrade(server.wsUrl, { origin: ALLOWED.toUpperCase() })).toBe(403);
    expect(await tryUpgrade(server.wsUrl, { origin: 'not a url' })).toBe(403);
  });

  it('a message split into more than 16,384 WebSocket fragments closes the socket with 1008', async () => {
    const c = await TestClient.connect(server.wsUrl);
    const text = `{"type":"ping"${' '.repeat(16_384)}}`;
    for (let i = 0; i < text.length; i++) c.ws.send(text[i]!, { fin: i === text.length - 1 });
    expect((await c.waitClosed(5_000)).code).toBe(1008);
  });

  it('an upgrade on a path other than /ws is refused', async () => {
    const status = await tryUpgrade(server.wsUrl.replace(/\/ws$/, '/other'));
    expect(status).toBeGreaterThanOrEqual(400);
  });

  it('two users authenticate independently on parallel sockets', async () => {
    const [a, b] = await Promise.all([
      TestClient.open(server.wsUrl, { user: uid('pa') }),
      TestClient.open(server.wsUrl, { user: uid('pb') }),
    ]);
    expect(a.ready?.connection_id).not.toBe(b.ready?.connection_id);
    await closeAll([a, b]);
  });
});
