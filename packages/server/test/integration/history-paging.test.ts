import type { ChatEvent } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, expectFrame, TestClient } from '../helpers/client.js';
import { api, createGroup, signToken, startTestServer, type TestServer, uid } from '../helpers/server.js';

describe('history and fetch paging', () => {
  let server: TestServer;
  let conv: string;
  let owner: string;
  let c: TestClient;
  let last: number;
  beforeAll(async () => {
    server = await startTestServer({ sendBurst: 10_000, sendsPerSecond: 10_000 });
    owner = uid('pager');
    conv = await createGroup(server.httpUrl, owner, [uid('peer')], 'paging');
    c = await TestClient.open(server.wsUrl, { user: owner });
    const acks = await Promise.all(Array.from({ length: 249 }, (_, i) => c.sendOk(conv, `p${i}`)));
    last = Math.max(...acks.map((a) => a.seq));
  });
  afterAll(async () => {
    await c?.close();
    await server?.dispose();
  });

  it('history: newest page first, ascending within a page, has_more until the start', async () => {
    const dflt = expectFrame(await c.history(conv), 'events');
    expect(dflt.events.at(-1)?.seq).toBe(last);
    expect(dflt.events.length).toBeGreaterThan(0);
    expect(dflt.events.length).toBeLessThanOrEqual(100);
    expect(dflt.has_more).toBe(true);
    const newest = expectFrame(await c.history(conv, undefined, 100), 'events');
    expect(newest.events).toHaveLength(100);
    expect(newest.events.map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => last - 99 + i));
    expect(newest.has_more).toBe(true);
    const small = expectFrame(await c.history(conv, 10, 5), 'events');
    expect(small.events.map((e) => e.seq)).toEqual([5, 6, 7, 8, 9]);
    expect(small.has_more).toBe(true);
    const first = expectFrame(await c.history(conv, 3, 100), 'events');
    expect(first.events.map((e) => e.seq)).toEqual([1, 2]);
    expect(first.has_more).toBe(false);
    const all = await c.fullHistory(conv);
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
  });

  it('fetch: ascending after after_seq with has_more; empty at the end', async () => {
    const got: ChatEvent[] = [];
    let after = 0;
    let pages = 0;
    for (;;) {
      const page = expectFrame(await c.fetch(conv, after, 70), 'events');
      pages++;
      got.push(...page.events);
      if (!page.has_more) break;
      after = page.events.at(-1)!.seq;
    }
    expect(pages).toBe(Math.ceil(last / 70));
    expect(got.map((e) => e.seq)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    const end = expectFrame(await c.fetch(conv, last), 'events');
    expect(end.events).toEqual([]);
    expect(end.has_more).toBe(false);
  });

  it('limits above 100 are bad_request', async () => {
    // (whether these errors carry `re` is checked in invalid-frames.test.ts)
    const h = await c.requestLoose({ type: 'history', conversation_id: conv, limit: 101 });
    expectError(h.frame, 'bad_request');
    const f = await c.requestLoose({ type: 'fetch', conversation_id: conv, after_seq: 0, limit: 500 });
    expectError(f.frame, 'bad_request');
  });

  it('HTTP GET /v1/conversations/:id/events pages the same way', async () => {
    const token = await signToken(owner);
    const res = await api<{ events: ChatEvent[]; has_more: boolean }>(
      server.httpUrl,
      'GET',
      `/v1/conversations/${conv}/events?before_seq=51&limit=20`,
      { token },
    );
    expect(res.status).toBe(200);
    expect(res.body.events.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 31 + i));
    expect(res.body.has_more).toBe(true);
    const newest = await api<{ events: ChatEvent[]; has_more: boolean }>(
      server.httpUrl,
      'GET',
      `/v1/conversations/${conv}/events`,
      { token },
    );
    expect(newest.body.events.at(-1)?.seq).toBe(last);
    const bad = await api(server.httpUrl, 'GET', `/v1/conversations/${conv}/events?limit=1000`, { token });
    expect(bad.status).toBe(400);
  });
});
