import type { SearchResultFrame, ServerFrame } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, expectError, expectFrame, TestClient } from '../helpers/client.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { api, createGroup, signToken, startTestServer, type TestServer, uid } from '../helpers/server.js';

const SEARCH_BURST = 4;

/** Search over real sockets and HTTP: members only, validation, cursors, the per-user rate limit. */
describe('search', () => {
  const clock = new ManualClock();
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ searchBurst: SEARCH_BURST, searchesPerSecond: 1 }, undefined, { clock });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  async function group(...users: TestClient[]) {
    return createGroup(
      server.httpUrl,
      users[0]!.ready!.user_id,
      users.slice(1).map((u) => u.ready!.user_id),
    );
  }

  function search(client: TestClient, fields: Record<string, unknown>): Promise<ServerFrame> {
    return client.request({ type: 'search', ...fields });
  }

  it('finds a member’s message with a highlighted snippet; a stranger learns nothing, not even that it exists', async () => {
    const [alice, bob, carol] = await Promise.all(
      ['alice', 'bob', 'carol'].map((u) => TestClient.open(server.wsUrl, { user: uid(u) })),
    );
    try {
      const conv = await group(alice!, bob!);
      const ack = await alice!.sendOk(conv, 'The pelican lands at noon');
      const found = expectFrame(await search(bob!, { query: 'pelican' }), 'search_result');
      expect(found.results).toEqual([
        {
          conversation_id: conv,
          seq: ack.seq,
          sender_id: alice!.ready!.user_id,
          sent_at: ack.created_at,
          snippet: 'The pelican lands at noon',
          highlights: [[4, 11]],
        },
      ]);
      expect(found.next_cursor).toBeNull();
      const foreign = await search(carol!, { query: 'pelican', conversation_id: conv });
      const missing = await search(carol!, { query: 'pelican', conversation_id: 'c_nosuchconversation' });
      const strip = ({ re: _re, ...rest }: ServerFrame & { re?: string }) => rest;
      expect(strip(foreign)).toEqual(strip(missing));
      expect(strip(foreign)).toEqual({ type: 'search_result', results: [], next_cursor: null });
    } finally {
      await closeAll([alice, bob, carol]);
    }
  });

  it('pages with a cursor bound to its search; validates the query and refuses a foreign cursor', async () => {
    const c = await TestClient.open(server.wsUrl, { user: uid('pager') });
    try {
      const conv = await group(c);
      for (let i = 0; i < 3; i++) await c.sendOk(conv, `otter number ${i}`);
      const first = expectFrame(await search(c, { query: 'otter', limit: 2 }), 'search_result');
      expect(first.results).toHaveLength(2);
      const second = expectFrame(
        await search(c, { query: 'otter', limit: 2, cursor: first.next_cursor }),
        'search_result',
      );
      expect(second.results).toHaveLength(1);
      expect(second.next_cursor).toBeNull();
      const seqs = [...first.results, ...second.results].map((r) => r.seq).sort();
      expect(new Set(seqs).size).toBe(3);
      const other = await search(c, { query: 'number', cursor: first.next_cursor });
      expect(expectError(other, 'bad_request').message).toMatch(/cursor/);
    } finally {
      await c.close();
    }
  });

  it('refuses an empty or oversized query and too many words with bad_request; reads no syntax', async () => {
    const c = await TestClient.open(server.wsUrl, { user: uid('validate') });
    try {
      expectError(await search(c, { query: '   ' }), 'bad_request');
      expectError(await search(c, { query: 'x'.repeat(201) }), 'bad_request');
      expectError(await search(c, { query: 'a', limit: 51 }), 'bad_request');
      const words = Array.from({ length: 17 }, (_, i) => `w${i}`).join(' ');
      expect(expectError(await search(c, { query: words }), 'bad_request').message).toMatch(/16 words/);
      const hostile = await search(c, { query: '"a NEAR( :*&|! \' OR' });
      expect(expectFrame(hostile, 'search_result').results).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it('rate-limits each user over WebSocket and HTTP together, with retry_after_ms, on the server clock', async () => {
    const user = uid('eager');
    const c = await TestClient.open(server.wsUrl, { user });
    const token = await signToken(user);
    try {
      for (let i = 0; i < SEARCH_BURST - 1; i++) {
        expectFrame(await search(c, { query: 'anything' }), 'search_result');
      }
      const http = await api<SearchResultFrame>(server.httpUrl, 'GET', '/v1/search?q=anything&limit=5', {
        token,
      });
      expect(http.status).toBe(200);
      expect(http.body).toEqual({ results: [], next_cursor: null });
      const limited = expectError(await search(c, { query: 'anything' }), 'rate_limited');
      expect(limited.retry_after_ms).toBeGreaterThan(0);
      const refused = await api(server.httpUrl, 'GET', '/v1/search?q=anything', { token });
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('1');
      await clock.advance(limited.retry_after_ms ?? 1000);
      expectFrame(await search(c, { query: 'anything' }), 'search_result');
    } finally {
      await c.close();
    }
  });

  it('GET /v1/search takes the frame’s fields as query parameters, ISO times included', async () => {
    const user = uid('http');
    const c = await TestClient.open(server.wsUrl, { user });
    try {
      const conv = await group(c);
      await c.sendOk(conv, 'walrus meeting');
      const token = await signToken(user);
      const future = new Date(Date.now() + 86_400_000).toISOString();
      const q = (params: string) =>
        api<SearchResultFrame>(server.httpUrl, 'GET', `/v1/search?${params}`, { token });
      expect((await q(`q=walrus&conversation_id=${conv}`)).body.results).toHaveLength(1);
      expect((await q(`q=walrus&after=${encodeURIComponent(future)}`)).body.results).toHaveLength(0);
      expect((await q(`q=walrus&before=${encodeURIComponent(future)}`)).body.results).toHaveLength(1);
      expect((await q('q=walrus&after=yesterday')).status).toBe(400);
      expect((await api(server.httpUrl, 'GET', '/v1/search?q=walrus')).status).toBe(401);
    } finally {
      await c.close();
    }
  });
});
