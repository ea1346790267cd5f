import { randomUUID } from 'node:crypto';
import type { FoundUser, UserProfile } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reachablePostgres, useTestDatabase } from '../helpers/postgres.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

type Found = { users: FoundUser[]; error?: { code: string; message: string } };
type Profile = UserProfile & { error?: { code: string; message: string } };

const adminUrl = await reachablePostgres('the profile and people-search tests on PostgreSQL');

/** The smallest PNG: its signature and enough after it. */
const PNG = new Uint8Array([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52,
]);

function describeOn(store: 'sqlite' | 'postgres') {
  describe.skipIf(store === 'postgres' && adminUrl === null)(`profiles and finding people (${store})`, () => {
    const database = store === 'postgres' ? useTestDatabase(adminUrl) : null;
    let server: TestServer;
    beforeAll(async () => {
      const registrations = { registrationsPerHour: 1000, loginAttemptsPerIpPerMinute: 1000 };
      server = await startTestServer(
        database ? { ...registrations, store: 'postgres', databaseUrl: database.url } : registrations,
      );
    });
    afterAll(async () => {
      await server?.dispose();
    });

    async function register(username: string, displayName?: string) {
      const password = 'correct horse battery';
      const created = await api<Profile>(server.httpUrl, 'POST', '/v1/accounts', {
        body: { username, password, ...(displayName ? { display_name: displayName } : {}) },
      });
      expect(created.status).toBe(201);
      const session = await api<{ token: string }>(server.httpUrl, 'POST', '/v1/sessions', {
        body: { username, password },
      });
      return { id: created.body.user_id, username, token: session.body.token, password };
    }

    const search = (token: string, q: string) =>
      api<Found>(server.httpUrl, 'GET', `/v1/users/search?q=${encodeURIComponent(q)}`, { token });

    it('ranks contacts first, then an exact username, then prefix matches, and never the caller', async () => {
      const m = `p${randomUUID().slice(0, 6).replace(/-/g, '')}`;
      const me = await register(`${m}_me`, 'Me Myself');
      const friend = await register(`${m}_zed`, `Zed ${m}friend`);
      const exact = await register(`${m}`, 'Exact Match');
      const prefix = await register(`${m}_amy`, 'Amy Pond');
      await api(server.httpUrl, 'POST', '/v1/conversations/direct', {
        token: me.token,
        body: { user_id: friend.id },
      });

      const answer = await search(me.token, m.toUpperCase());
      expect(answer.status).toBe(200);
      expect(answer.body.users.map((u) => [u.username, u.contact])).toEqual([
        [friend.username, true],
        [exact.username, false],
        [prefix.username, false],
      ]);
      expect(answer.body.users[1]).toEqual({
        user_id: exact.id,
        username: exact.username,
        display_name: 'Exact Match',
        avatar: null,
        contact: false,
      });
      // Display-name words, every query word a prefix of one.
      expect((await search(me.token, `amy ${m}`)).body.users.map((u) => u.username)).toEqual([
        prefix.username,
      ]);
      expect((await search(me.token, `${m}fri`)).body.users.map((u) => u.username)).toEqual([
        friend.username,
      ]);
      expect((await search(me.token, `pond zzz${m}`)).body.users).toEqual([]);
    });

    it('refuses queries too short to mean anything, and anonymous callers, with a clear error', async () => {
      const me = await register(`s${randomUUID().slice(0, 8)}`);
      const short = await search(me.token, ' a ');
      expect(short.status).toBe(400);
      expect(short.body.error).toMatchObject({ code: 'bad_request' });
      expect(short.body.error?.message).toMatch(/at least 2 characters/);
      expect((await search(me.token, 'x'.repeat(65))).status).toBe(400);
      expect((await api(server.httpUrl, 'GET', '/v1/users/search?q=ab')).status).toBe(401);
      expect(
        (await api(server.httpUrl, 'GET', '/v1/users/search?q=ab&page=2', { token: me.token })).status,
      ).toBe(400);
    });

    it('answers at most 20, with no next page, and throttles a crawl per user', async () => {
      const m = `c${randomUUID().slice(0, 6)}`;
      await Promise.all(Array.from({ length: 23 }, (_, i) => register(`${m}_${String(i).padStart(2, '0')}`)));
      const me = await register(`q${randomUUID().slice(0, 8)}`);
      const first = await search(me.token, m);
      expect(first.body.users).toHaveLength(20);
      expect(Object.keys(first.body)).toEqual(['users']);
      let refused: Awaited<ReturnType<typeof search>> | undefined;
      for (let i = 0; i < 100 && !refused; i++) {
        const answer = await search(me.token, `${m}_${i}`);
        if (answer.status !== 200) refused = answer;
      }
      expect(refused?.status).toBe(429);
      expect(refused?.body.error?.code).toBe('rate_limited');
    });

    it('renames you (others see it at their next lookup) and keeps the search index in step', async () => {
      const m = `r${randomUUID().slice(0, 6)}`;
      const me = await register(`${m}_me`, 'Old Name');
      const peer = await register(`${m}_peer`);
      await api(server.httpUrl, 'POST', '/v1/conversations/direct', {
        token: me.token,
        body: { user_id: peer.id },
      });
      const renamed = await api<Profile>(server.httpUrl, 'PATCH', '/v1/me', {
        token: me.token,
        body: { display_name: `  ${m}new Person ` },
      });
      expect(renamed.status).toBe(200);
      expect(renamed.body).toMatchObject({ user_id: me.id, display_name: `${m}new Person` });
      const seen = await api<{ users: UserProfile[] }>(server.httpUrl, 'POST', '/v1/users/lookup', {
        token: peer.token,
        body: { user_ids: [me.id] },
      });
      expect(seen.body.users[0]?.display_name).toBe(`${m}new Person`);
      expect((await search(peer.token, `${m}new`)).body.users.map((u) => u.user_id)).toEqual([me.id]);
      const empty = await api<Profile>(server.httpUrl, 'PATCH', '/v1/me', {
        token: me.token,
        body: { display_name: '   ' },
      });
      expect(empty.status).toBe(400);
      const cleared = await api<Profile>(server.httpUrl, 'PATCH', '/v1/me', {
        token: me.token,
        body: { display_name: null },
      });
      expect(cleared.body.display_name).toBeNull();
      expect((await api<Profile>(server.httpUrl, 'GET', '/v1/me', { token: me.token })).body).toEqual({
        user_id: me.id,
        username: me.username,
        display_name: null,
        avatar: null,
      });
    });

    it('stores an avatar sniffed from its bytes, serves it with an ETag to signed-in users, and removes it', async () => {
      const me = await register(`a${randomUUID().slice(0, 8)}`);
      const other = await register(`b${randomUUID().slice(0, 8)}`);
      const put = (body: Uint8Array, type = 'image/jpeg') =>
        fetch(`${server.httpUrl}/v1/me/avatar`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${me.token}`, 'content-type': type },
          body,
        });

      // The claimed type is ignored: these bytes are a PNG.
      const stored = await put(PNG);
      expect(stored.status).toBe(200);
      const profile = (await stored.json()) as UserProfile;
      expect(profile.avatar).toMatch(/^[\w-]{16}$/);

      const url = `${server.httpUrl}/v1/users/${encodeURIComponent(me.id)}/avatar`;
      const served = await fetch(url, { headers: { authorization: `Bearer ${other.token}` } });
      expect(served.status).toBe(200);
      expect(served.headers.get('content-type')).toBe('image/png');
      expect(served.headers.get('x-content-type-options')).toBe('nosniff');
      expect(new Uint8Array(await served.arrayBuffer())).toEqual(PNG);
      const etag = served.headers.get('etag')!;
      expect(etag).toBe(`"${profile.avatar}"`);
      const again = await fetch(url, {
        headers: { authorization: `Bearer ${other.token}`, 'if-none-match': etag },
      });
      expect(again.status).toBe(304);
      expect((await fetch(url)).status).toBe(401);

      const script = await put(new TextEncoder().encode('<svg onload="alert(1)"></svg>'), 'image/svg+xml');
      expect(script.status).toBe(400);
      expect(((await script.json()) as Found).error?.message).toMatch(/PNG, JPEG, GIF or WebP/);
      const huge = new Uint8Array(70 * 1024);
      huge.set(PNG);
      const tooBig = await put(huge);
      expect(tooBig.status).toBe(400);
      expect(((await tooBig.json()) as Found).error?.message).toMatch(/larger than 64 KB/);
      expect((await fetch(url, { headers: { authorization: `Bearer ${other.token}` } })).status).toBe(200);

      const removed = await api<Profile>(server.httpUrl, 'DELETE', '/v1/me/avatar', { token: me.token });
      expect(removed.body.avatar).toBeNull();
      expect((await fetch(url, { headers: { authorization: `Bearer ${other.token}` } })).status).toBe(404);
      const unknown = await fetch(`${server.httpUrl}/v1/users/u_nobody/avatar`, {
        headers: { authorization: `Bearer ${other.token}` },
      });
      expect(unknown.status).toBe(404);
    });
  });
}

describeOn('sqlite');
describeOn('postgres');
