import type { PresenceResultFrame, PresenceUpdateFrame, ServerFrame } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, expectFrame, TestClient } from '../helpers/client.js';
import {
  api,
  createGroup,
  signToken,
  sleep,
  startTestServer,
  type TestServer,
  uid,
} from '../helpers/server.js';

const PRESENCE_TTL = 800;

const presenceOf = (user: string, online?: boolean) => (f: ServerFrame) =>
  f.type === 'presence' && f.user_id === user && (online === undefined || f.online === online);

/** Presence is a TTL refreshed by any frame; offline on close or when heartbeats stop. */
describe('presence', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      pingIntervalMs: 200,
      presenceTtlMs: PRESENCE_TTL,
      pingTimeoutMs: 10_000,
    });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('subscribe returns only users sharing a conversation; online/offline follow connect and close', async () => {
    const watcher = uid('watch');
    const friend = uid('friend');
    const stranger = uid('stranger');
    await createGroup(server.httpUrl, watcher, [friend], 'friends');
    await createGroup(server.httpUrl, stranger, [uid('other')], 'elsewhere');
    const w = await TestClient.open(server.wsUrl, { user: watcher });
    const s = await TestClient.open(server.wsUrl, { user: stranger });
    let f: TestClient | undefined;
    try {
      const res = expectFrame(
        await w.request<PresenceResultFrame>({ type: 'presence_subscribe', user_ids: [friend, stranger] }),
        'presence_result',
      );
      expect(res.presence.map((p) => p.user_id)).toEqual([friend]);
      expect(res.presence[0]).toMatchObject({ user_id: friend, online: false });

      const before = Date.now();
      f = await TestClient.open(server.wsUrl, { user: friend });
      const on = await w.waitFor<PresenceUpdateFrame>(presenceOf(friend, true), { label: 'friend online' });
      expect(on.online).toBe(true);
      // stranger's presence never leaks
      await s.pingPong();
      const res2 = expectFrame(
        await w.request<PresenceResultFrame>({ type: 'presence_subscribe', user_ids: [friend, stranger] }),
        'presence_result',
      );
      expect(res2.presence).toEqual([expect.objectContaining({ user_id: friend, online: true })]);

      const mark = w.mark();
      await f.close();
      const off = await w.waitFor<PresenceUpdateFrame>(presenceOf(friend, false), {
        from: mark,
        label: 'friend offline',
      });
      expect(off.last_seen).toBeGreaterThanOrEqual(before - 1_000);
      expect(off.last_seen).toBeLessThanOrEqual(Date.now() + 1_000);
      expect(w.frames.some(presenceOf(stranger))).toBe(false);
    } finally {
      await closeAll([w, s, f]);
    }
  });

  it('a socket that stays open but stops heartbeats reads offline within the TTL, and online again when it speaks', async () => {
    const watcher = uid('watch');
    const silent = uid('silent');
    await createGroup(server.httpUrl, watcher, [silent], 'ttl');
    const w = await TestClient.open(server.wsUrl, { user: watcher });
    // never answers the server's pings
    const openedAt = Date.now();
    const quiet = await TestClient.open(server.wsUrl, { user: silent }, { autoPong: false });
    const authedAt = Date.now();
    try {
      await w.request({ type: 'presence_subscribe', user_ids: [silent] });
      const lastFrameAt = Date.now();
      const off = await w.waitFor<PresenceUpdateFrame>(presenceOf(silent, false), {
        timeoutMs: PRESENCE_TTL * 4,
        label: 'silent user offline',
      });
      const elapsed = Date.now() - lastFrameAt;
      expect(elapsed).toBeLessThanOrEqual(PRESENCE_TTL * 3);
      expect(quiet.isOpen).toBe(true);
      expect(quiet.frames.some((fr) => fr.type === 'ping')).toBe(true);
      expect(off.online).toBe(false);
      // last_seen is the last time the user was heard (its auth frame), not when the TTL ran out
      expect(off.last_seen).toBeGreaterThanOrEqual(openedAt - 50);
      expect(off.last_seen).toBeLessThanOrEqual(authedAt + 50);
      // a fresh subscribe agrees
      const res = expectFrame(
        await w.request<PresenceResultFrame>({ type: 'presence_subscribe', user_ids: [silent] }),
        'presence_result',
      );
      expect(res.presence[0]?.online).toBe(false);

      // It speaks again: online.
      const mark = w.mark();
      quiet.sendJson({ type: 'pong' });
      const on = await w.waitFor<PresenceUpdateFrame>(presenceOf(silent, true), {
        from: mark,
        label: 'online again',
      });
      expect(on.online).toBe(true);
    } finally {
      await closeAll([w, quiet]);
    }
  });

  it('presence_subscribe replaces the subscription: users dropped from it send no more updates', async () => {
    const watcher = uid('watch');
    const p1 = uid('p1');
    const p2 = uid('p2');
    await createGroup(server.httpUrl, watcher, [p1, p2], 'replace');
    const w = await TestClient.open(server.wsUrl, { user: watcher });
    try {
      await w.request({ type: 'presence_subscribe', user_ids: [p1] });
      await w.request({ type: 'presence_subscribe', user_ids: [p2] });
      const mark = w.mark();
      const c1 = await TestClient.open(server.wsUrl, { user: p1 });
      const c2 = await TestClient.open(server.wsUrl, { user: p2 });
      await w.waitFor(presenceOf(p2, true), { from: mark, label: 'p2 online' });
      await w.collectFor(() => false, 150);
      expect(w.frames.slice(mark).filter(presenceOf(p1))).toEqual([]);
      await closeAll([c1, c2]);
    } finally {
      await w.close();
    }
  });

  it('a user with two connections stays online until both are gone; heartbeats keep them online', async () => {
    const watcher = uid('watch');
    const two = uid('two');
    await createGroup(server.httpUrl, watcher, [two], 'multi');
    const w = await TestClient.open(server.wsUrl, { user: watcher });
    const d1 = await TestClient.open(server.wsUrl, { user: two });
    const d2 = await TestClient.open(server.wsUrl, { user: two });
    try {
      const res = expectFrame(
        await w.request<PresenceResultFrame>({ type: 'presence_subscribe', user_ids: [two] }),
        'presence_result',
      );
      expect(res.presence[0]?.online).toBe(true);
      const mark = w.mark();
      await d1.close();
      // Longer than the TTL: d2 answers pings so the user stays online.
      await sleep(PRESENCE_TTL * 1.5);
      expect(w.frames.slice(mark).filter(presenceOf(two, false))).toHaveLength(0);
      await d2.close();
      await w.waitFor(presenceOf(two, false), { from: mark, label: 'offline after last close' });
    } finally {
      await closeAll([w, d1, d2]);
    }
  });

  it('once two users no longer share a conversation, presence updates stop and subscribe leaves them out', async () => {
    const watcher = uid('watch');
    const former = uid('former');
    const conv = await createGroup(server.httpUrl, watcher, [former], 'shared once');
    const w = await TestClient.open(server.wsUrl, { user: watcher });
    try {
      const res = expectFrame(
        await w.request<PresenceResultFrame>({ type: 'presence_subscribe', user_ids: [former] }),
        'presence_result',
      );
      expect(res.presence.map((p) => p.user_id)).toEqual([former]);
      const del = await api(server.httpUrl, 'DELETE', `/v1/conversations/${conv}/members/${former}`, {
        token: await signToken(watcher),
      });
      expect(del.status).toBe(200);
      const mark = w.mark();
      const f = await TestClient.open(server.wsUrl, { user: former });
      await f.pingPong();
      await f.close();
      await w.collectFor(() => false, 300);
      expect(w.frames.slice(mark).filter(presenceOf(former))).toEqual([]);
      const res2 = expectFrame(
        await w.request<PresenceResultFrame>({ type: 'presence_subscribe', user_ids: [former] }),
        'presence_result',
      );
      expect(res2.presence).toEqual([]);
    } finally {
      await w.close();
    }
  });
});
