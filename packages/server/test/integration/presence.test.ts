import type { PresenceResultFrame, PresenceUpdateFrame, ServerFrame } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, expectFrame, TestClient } from '../helpers/client.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { api, createGroup, signToken, startTestServer, type TestServer, uid } from '../helpers/server.js';

const PING_INTERVAL = 200;
const PRESENCE_TTL = 800;
/** How often the in-memory presence store looks for expired users (a quarter of the TTL). */
const SWEEP_INTERVAL = PRESENCE_TTL / 4;

const presenceOf = (user: string, online?: boolean) => (f: ServerFrame) =>
  f.type === 'presence' && f.user_id === user && (online === undefined || f.online === online);

/**
 * Presence is a TTL refreshed by any frame; offline on close or when heartbeats stop. The server's
 * time is a ManualClock that moves only by `advance`, whole ping intervals at a time.
 */
describe('presence', () => {
  const clock = new ManualClock();
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(
      { pingIntervalMs: PING_INTERVAL, presenceTtlMs: PRESENCE_TTL, pingTimeoutMs: 10_000 },
      undefined,
      { clock },
    );
  });
  afterAll(async () => {
    await server?.dispose();
  });

  /** Advances `ms` a ping interval at a time, waiting each time for the ping each client is sent. */
  async function advanceWhilePinged(ms: number, clients: TestClient[]): Promise<void> {
    for (let elapsed = 0; elapsed < ms; elapsed += PING_INTERVAL) {
      const marks = clients.map((c) => c.mark());
      await clock.advance(PING_INTERVAL);
      await Promise.all(
        clients.map((c, i) => c.waitFor((f) => f.type === 'ping', { from: marks[i], label: 'ping' })),
      );
    }
  }

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
      expect(off.last_seen).toBe(clock.now());
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
    const quiet = await TestClient.open(server.wsUrl, { user: silent }, { autoPong: false });
    const authedAt = clock.now();
    try {
      await w.request({ type: 'presence_subscribe', user_ids: [silent] });
      const mark = w.mark();
      await advanceWhilePinged(PRESENCE_TTL, [w, quiet]);
      // A whole TTL without a frame is not yet past it: a subscribe (answered after any presence
      // frame sent before it) still reads online.
      const atTtl = expectFrame(
        await w.request<PresenceResultFrame>({ type: 'presence_subscribe', user_ids: [silent] }),
        'presence_result',
      );
      expect(atTtl.presence[0]?.online).toBe(true);
      expect(w.frames.slice(mark).filter(presenceOf(silent))).toEqual([]);
      await clock.advance(SWEEP_INTERVAL);
      const off = await w.waitFor<PresenceUpdateFrame>(presenceOf(silent, false), {
        from: mark,
        label: 'silent user offline',
      });
      expect(quiet.isOpen).toBe(true);
      expect(quiet.frames.some((fr) => fr.type === 'ping')).toBe(true);
      expect(off.online).toBe(false);
      // last_seen is the last time the user was heard (its auth frame), not when the TTL ran out
      expect(off.last_seen).toBe(authedAt);
      // a fresh subscribe agrees
      const res = expectFrame(
        await w.request<PresenceResultFrame>({ type: 'presence_subscribe', user_ids: [silent] }),
        'presence_result',
      );
      expect(res.presence[0]?.online).toBe(false);

      // It speaks again: online.
      quiet.sendJson({ type: 'pong' });
      const on = await w.waitFor<PresenceUpdateFrame>(presenceOf(silent, true), {
        from: w.mark(),
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
      await advanceWhilePinged(PRESENCE_TTL * 1.5, [w, d2]);
      const after = expectFrame(
        await w.request<PresenceResultFrame>({ type: 'presence_subscribe', user_ids: [two] }),
        'presence_result',
      );
      expect(after.presence[0]?.online).toBe(true);
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
