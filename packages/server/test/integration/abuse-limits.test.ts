import type { ErrorFrame, ServerFrame } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, TestClient } from '../helpers/client.js';
import { api, createGroup, sleep, startTestServer, type TestServer, uid } from '../helpers/server.js';

/** Limits that a hostile or careless client must not be able to sidestep. */
describe('abuse limits', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      sendsPerSecond: 5,
      sendBurst: 10,
      typingMinIntervalMs: 5_000,
      typingTtlMs: 5_000,
      maxReadsInFlight: 2,
    });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('the per-user send budget survives reconnecting', async () => {
    const user = uid('burst');
    const conv = await createGroup(server.httpUrl, user, [uid('peer')], 'bucket');
    let refused = 0;
    let accepted = 0;
    for (let round = 0; round < 3; round++) {
      const c = await TestClient.open(server.wsUrl, { user });
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => c.send(conv, `r${round} m${i}`)),
      );
      for (const a of answers) {
        if (a.type === 'ack') accepted += 1;
        else if (a.type === 'error' && a.code === 'rate_limited') refused += 1;
      }
      c.close();
      await sleep(20);
    }
    expect(accepted).toBeLessThan(15);
    expect(refused).toBeGreaterThan(15);
  });

  it('alternating typing start and stop does not get more than one start through per interval', async () => {
    const typer = uid('typer');
    const watcher = uid('watcher');
    const conv = await createGroup(server.httpUrl, typer, [watcher], 'typing');
    const [t, w] = await Promise.all([
      TestClient.open(server.wsUrl, { user: typer }),
      TestClient.open(server.wsUrl, { user: watcher }),
    ]);
    try {
      const from = w.mark();
      for (let i = 0; i < 20; i++) {
        t.sendJson({ type: 'typing', conversation_id: conv, state: i % 2 === 0 ? 'start' : 'stop' });
      }
      const seen = await w.collectFor((f) => f.type === 'typing', 500, from);
      expect(seen.filter((f) => f.type === 'typing' && f.state === 'start')).toHaveLength(1);
      expect(seen.length).toBeLessThanOrEqual(2);
    } finally {
      await closeAll([t, w]);
    }
  });

  it('reads beyond the in-flight cap are refused with rate_limited carrying their id', async () => {
    const user = uid('reader');
    const conv = await createGroup(server.httpUrl, user, [uid('peer')], 'reads');
    const c = await TestClient.open(server.wsUrl, { user });
    try {
      const answers = await Promise.all(Array.from({ length: 12 }, () => c.history(conv)));
      const refused = answers.filter((a): a is ErrorFrame => a.type === 'error');
      expect(refused.length).toBeGreaterThan(0);
      for (const a of refused) expect(a.code).toBe('rate_limited');
      expect(answers.filter((a) => a.type === 'events').length).toBeGreaterThanOrEqual(2);
    } finally {
      c.close();
    }
  });

  it('password guessing is throttled per IP and username, and so are sign-ups per IP', async () => {
    const guarded = await startTestServer({ loginAttemptsPerMinute: 3, registrationsPerHour: 2 });
    try {
      const register = (username: string) =>
        api(guarded.httpUrl, 'POST', '/v1/accounts', {
          body: { username, password: 'correct horse battery' },
        });
      expect((await register('alice')).status).toBe(201);
      expect((await register('bob')).status).toBe(201);
      const third = await register('carol');
      expect(third.status).toBe(429);
      expect(third.body).toMatchObject({ error: { code: 'rate_limited', retryable: true } });

      const login = (username: string, password: string) =>
        api(guarded.httpUrl, 'POST', '/v1/sessions', { body: { username, password } });
      for (let i = 0; i < 3; i++) expect((await login('alice', `wrong ${i}`)).status).toBe(401);
      const locked = await login('alice', 'correct horse battery');
      expect(locked.status).toBe(429);
      expect(locked.headers.get('retry-after')).not.toBeNull();
      expect((await login('bob', 'correct horse battery')).status).toBe(201);
    } finally {
      await guarded.dispose();
    }
  });

  it('a sync token ahead of the server is refused, so the client starts over instead of missing everything', async () => {
    const user = uid('future');
    await createGroup(server.httpUrl, user, [uid('peer')], 'future');
    const c = await TestClient.open(server.wsUrl, { user });
    try {
      const answer = (await c.sync('v1.999999999')) as ServerFrame;
      expect(answer).toMatchObject({ type: 'error', code: 'bad_request' });
      const fresh = await c.sync(null);
      expect(fresh.type).toBe('sync_result');
    } finally {
      c.close();
    }
  });
});
