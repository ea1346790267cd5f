import { randomUUID } from 'node:crypto';
import type { PresenceState } from '@natter/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PresenceStore } from '../../src/presence/presence-store.js';

/**
 * The PresenceStore port contract as an executable suite, run against every adapter (in-process
 * today, Redis later). Time is real: beats carry Date.now(), and expiry is observed through the
 * listener, so the adapter's own sweeper/keyspace notifications are exercised.
 */
export interface PresenceStoreHandle {
  store: PresenceStore;
  /** The TTL the store was opened with. */
  ttlMs: number;
  /** How often the adapter looks for expired users: expiry must be heard within ttlMs + this. */
  sweepIntervalMs: number;
  close(): Promise<void>;
}

/** Timer slack allowed on top of ttl + sweep interval (a loaded CI machine is late, never early). */
const TIMER_SLACK_MS = 150;

function uid(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 12)}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function describePresenceStoreConformance(
  name: string,
  open: () => Promise<PresenceStoreHandle>,
): void {
  describe(`PresenceStore conformance: ${name}`, () => {
    let handle: PresenceStoreHandle;
    let store: PresenceStore;
    let heard: PresenceState[];

    const heardFor = (userId: string) => heard.filter((s) => s.user_id === userId);

    /** Resolves with the first transition for userId matching `online` heard from now on, or rejects. */
    const next = (userId: string, online: boolean, withinMs: number): Promise<PresenceState> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`no ${online ? 'online' : 'offline'} transition for ${userId} in ${withinMs} ms`),
            ),
          withinMs,
        );
        store.onChange((state) => {
          if (state.user_id === userId && state.online === online) {
            clearTimeout(timer);
            resolve(state);
          }
        });
      });

    beforeEach(async () => {
      handle = await open();
      store = handle.store;
      heard = [];
      store.onChange((state) => heard.push({ ...state }));
    });

    afterEach(async () => {
      await handle.close();
    });

    it('reports unknown users as offline and never seen', () => {
      const [a, b] = [uid('a'), uid('b')];
      expect(store.get([a, b])).toEqual([
        { user_id: a, online: false, last_seen: null },
        { user_id: b, online: false, last_seen: null },
      ]);
      expect(store.get([])).toEqual([]);
    });

    it('announces the first beat as one online transition, and repeated beats as none', async () => {
      const user = uid('u');
      const other = uid('other');
      const t0 = Date.now();
      store.beat(user, t0);
      expect(heardFor(user)).toEqual([{ user_id: user, online: true, last_seen: t0 }]);
      expect(store.get([user, other])).toEqual([
        { user_id: user, online: true, last_seen: t0 },
        { user_id: other, online: false, last_seen: null },
      ]);

      await sleep(5);
      const t1 = Date.now();
      store.beat(user, t1);
      store.beat(user, t1);
      expect(heardFor(user)).toHaveLength(1);
      expect(store.get([user])).toEqual([{ user_id: user, online: true, last_seen: t1 }]);
      expect(heardFor(other)).toEqual([]);
    });

    it('lets every listener hear each transition once', () => {
      const second: PresenceState[] = [];
      store.onChange((s) => second.push({ ...s }));
      const user = uid('u');
      const t0 = Date.now();
      store.beat(user, t0);
      store.beat(user, t0);
      store.leave(user, t0 + 1);
      expect(second.map((s) => [s.user_id, s.online])).toEqual([
        [user, true],
        [user, false],
      ]);
      expect(heardFor(user).map((s) => s.online)).toEqual([true, false]);
    });

    it('marks a user offline at once on leave, last seen at the leave (they were there until then)', async () => {
      const user = uid('u');
      const t0 = Date.now();
      store.beat(user, t0);
      await sleep(20);
      const left = Date.now();
      store.leave(user, left);
      expect(heardFor(user)).toEqual([
        { user_id: user, online: true, last_seen: t0 },
        { user_id: user, online: false, last_seen: left },
      ]);
      expect(store.get([user])).toEqual([{ user_id: user, online: false, last_seen: left }]);

      // Leaving again, or leaving without ever beating, is no transition.
      store.leave(user, Date.now());
      const stranger = uid('stranger');
      store.leave(stranger, Date.now());
      expect(heardFor(user)).toHaveLength(2);
      expect(heardFor(stranger)).toEqual([]);
      expect(store.get([stranger])).toEqual([{ user_id: stranger, online: false, last_seen: null }]);

      // Coming back is a new online transition.
      const t2 = Date.now();
      store.beat(user, t2);
      expect(heardFor(user).at(-1)).toEqual({ user_id: user, online: true, last_seen: t2 });
      expect(heardFor(user)).toHaveLength(3);
    });

    it('keeps a user online while beats keep coming', async () => {
      const { ttlMs } = handle;
      const user = uid('u');
      const until = Date.now() + ttlMs * 2 + handle.sweepIntervalMs;
      while (Date.now() < until) {
        store.beat(user, Date.now());
        await sleep(Math.max(5, Math.floor(ttlMs / 4)));
      }
      expect(heardFor(user).map((s) => s.online)).toEqual([true]);
      expect(store.get([user])[0]?.online).toBe(true);
    });

    it('expires a silent user after the TTL, heard by the listener within ttl + sweep interval', async () => {
      const { ttlMs, sweepIntervalMs } = handle;
      const user = uid('u');
      const survivor = uid('survivor');
      const bound = ttlMs + sweepIntervalMs + TIMER_SLACK_MS;
      const offline = next(user, false, bound + 500);
      const lastBeat = Date.now();
      store.beat(user, lastBeat);
      store.beat(survivor, lastBeat);
      const keepAlive = setInterval(
        () => store.beat(survivor, Date.now()),
        Math.max(5, Math.floor(ttlMs / 4)),
      );
      try {
        const state = await offline;
        const elapsed = Date.now() - lastBeat;
        expect(state).toEqual({ user_id: user, online: false, last_seen: lastBeat });
        expect(elapsed).toBeGreaterThanOrEqual(ttlMs);
        expect(elapsed).toBeLessThanOrEqual(bound);
        expect(store.get([user])).toEqual([{ user_id: user, online: false, last_seen: lastBeat }]);

        // Heard once, and the user who kept beating is unaffected.
        await sleep(sweepIntervalMs * 2);
        expect(heardFor(user).map((s) => s.online)).toEqual([true, false]);
        expect(heardFor(survivor).map((s) => s.online)).toEqual([true]);
        expect(store.get([survivor])[0]?.online).toBe(true);
      } finally {
        clearInterval(keepAlive);
      }
    });
  });
}
