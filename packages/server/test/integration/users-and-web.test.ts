import { randomUUID } from 'node:crypto';
import type { UserProfile } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, createDirect, signToken, startTestServer, type TestServer } from '../helpers/server.js';

type Users = { users: UserProfile[]; error?: { code: string } };

describe('user lookup and the served web app', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  async function register(): Promise<{ id: string; username: string; token: string }> {
    const username = `u_${randomUUID().slice(0, 8)}`;
    const password = 'correct horse battery';
    const created = await api<{ user_id: string }>(server.httpUrl, 'POST', '/v1/accounts', {
      body: { username, password, display_name: `Name ${username}` },
    });
    const session = await api<{ token: string }>(server.httpUrl, 'POST', '/v1/sessions', {
      body: { username, password },
    });
    return { id: created.body.user_id, username, token: session.body.token };
  }

  it('by username finds anyone; by id only people you share a conversation with (and yourself)', async () => {
    const [alice, bob, stranger] = [await register(), await register(), await register()];
    const lookup = (body: unknown) =>
      api<Users>(server.httpUrl, 'POST', '/v1/users/lookup', { token: alice.token, body });

    const byName = await lookup({ usernames: [stranger.username, 'nobody-here'] });
    expect(byName.status).toBe(200);
    expect(byName.body.users).toEqual([
      {
        user_id: stranger.id,
        username: stranger.username,
        display_name: `Name ${stranger.username}`,
        avatar: null,
      },
    ]);

    // Before a shared conversation, bob's id reveals nothing; afterwards his profile is visible.
    const ids = { user_ids: [alice.id, bob.id, stranger.id, 'u_unknown'] };
    expect((await lookup(ids)).body.users.map((u) => u.user_id)).toEqual([alice.id]);
    const direct = await api(server.httpUrl, 'POST', '/v1/conversations/direct', {
      token: alice.token,
      body: { user_id: bob.id },
    });
    expect(direct.status).toBe(200);
    expect((await lookup(ids)).body.users.map((u) => u.user_id)).toEqual([alice.id, bob.id]);
  });

  it('refuses malformed lookups and unauthenticated ones', async () => {
    const alice = await register();
    const tooMany = await api<Users>(server.httpUrl, 'POST', '/v1/users/lookup', {
      token: alice.token,
      body: { user_ids: Array.from({ length: 200 }, (_, i) => `u${i}`), usernames: Array(100).fill('x') },
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error?.code).toBe('bad_request');
    const extra = await api<Users>(server.httpUrl, 'POST', '/v1/users/lookup', {
      token: alice.token,
      body: { emails: ['a@b.c'] },
    });
    expect(extra.status).toBe(400);
    const anonymous = await api<Users>(server.httpUrl, 'POST', '/v1/users/lookup', { body: {} });
    expect(anonymous.status).toBe(401);
  });

  it('throttles lookups per user: a burst of 60, then rate_limited with a retry time', async () => {
    const alice = await register();
    const started = Date.now();
    let allowed = 0;
    let refused: Awaited<ReturnType<typeof api<Users>>> | undefined;
    while (!refused && allowed < 200) {
      const answer = await api<Users>(server.httpUrl, 'POST', '/v1/users/lookup', {
        token: alice.token,
        body: { usernames: [`guess${allowed}`] },
      });
      if (answer.status === 200) allowed += 1;
      else refused = answer;
    }
    // The burst, plus whatever refilled (2 per second) while the requests ran.
    const refilled = Math.ceil(((Date.now() - started) / 1000) * 2);
    expect(allowed).toBeGreaterThanOrEqual(60);
    expect(allowed).toBeLessThanOrEqual(60 + refilled + 1);
    expect(refused?.status).toBe(429);
    expect(refused?.body.error?.code).toBe('rate_limited');
    expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThan(0);
    const bob = await register();
    const other = await api(server.httpUrl, 'POST', '/v1/users/lookup', { token: bob.token, body: {} });
    expect(other.status).toBe(200);
  });

  it('JWT users found by id through a shared conversation have no username', async () => {
    const [a, b] = [`jwt-${randomUUID().slice(0, 8)}`, `jwt-${randomUUID().slice(0, 8)}`];
    await createDirect(server.httpUrl, a, b);
    const found = await api<Users>(server.httpUrl, 'POST', '/v1/users/lookup', {
      token: await signToken(a),
      body: { user_ids: [b] },
    });
    expect(found.body.users).toEqual([{ user_id: b, username: null, display_name: null, avatar: null }]);
  });

  it('serves the web app at / with a content security policy, and revalidates by ETag', async () => {
    const page = await fetch(`${server.httpUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const etag = page.headers.get('etag')!;
    const scriptPath = /<script type="module" src="(\/assets\/app-\w+\.js)">/.exec(await page.text())?.[1];
    const script = await fetch(`${server.httpUrl}${scriptPath}`);
    expect(script.headers.get('content-type')).toContain('text/javascript');
    const again = await fetch(`${server.httpUrl}/`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect((await fetch(`${server.httpUrl}/nothing-here.js`)).status).toBe(404);
  });
});
