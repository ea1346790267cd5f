import { randomUUID } from 'node:crypto';
import type { PresenceState } from '@natter/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PresenceStore } from '../../src/presence/presence-store.js';

/**
 * The PresenceStore port contract as an executable suite, run against every adapter (in-process
 * and Redis). Time is real: beats carry Date.now(), and expiry is observed through the listener, so
 * the adapter's own sweeper is exercised. Listeners may hear a transition after its call resolved
 * (over Redis it travels by pub/sub), so the suite waits for what it expects, and before asserting
 * that nothing more was heard it passes a barrier: a fresh user's online transition, heard only
 * after everything published before it.
 */
export interface PresenceStoreHandle {
  store: PresenceStore;
  /** The TTL the store was opened with. */
  ttlMs: number;
  /** How often the adapter looks for expired users: expiry must be heard within ttlMs + this. */
  sweepIntervalMs: number;
  /**
   * Opens another node on the same backend (same TTL and sweep); the suite closes it. Only adapters
   * shared by several nodes have it (not the embedded default).
   */
  openPeer?(): Promise<PresenceStore>;
  close(): Promise<void>;
}

/** Timer slack allowed on top of ttl + sweep interval (a loaded CI machine is late, never early). */
const TIMER_SLACK_MS = 150;
/** How long to wait for a transition that needs no timer to fire (it only travels). */
const HEARD_WITHIN_MS = 2_000;

function uid(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 12)}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Records what one store's listener hears. */
function listen(store: PresenceStore): PresenceState[] {
  const heard: PresenceState[] = [];
  store.onChange((state) => heard.push({ ...state }));
  return heard;
}

async function waitFor(condition: () => boolean, what: string, withinMs = HEARD_WITHIN_MS): Promise<void> {
  const until = Date.now() + withinMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out after ${withinMs} ms waiting for ${what}`);
    await sleep(2);
  }
}

export function describePresenceStoreConformance(
  name: string,
  open: () => Promise<PresenceStoreHandle>,
  /** cluster: the adapter is shared by nodes (it has `openPeer`), and the cluster cases run too. */
  options: { cluster: boolean },
): void {
  describe(`PresenceStore conformance: ${name}`, () => {
    let handle: PresenceStoreHandle;
    let store: PresenceStore;
    let heard: PresenceState[];
    let peers: PresenceStore[];

    const heardBy = (log: PresenceState[], userId: string) => log.filter((s) => s.user_id === userId);
    const heardFor = (userId: string) => heardBy(heard, userId);

    /** Resolves once `log` holds `count` transitions for userId. */
    const heardCount = (log: PresenceState[], userId: string, count: number) =>
      waitFor(() => heardBy(log, userId).length >= count, `${count} transition(s) for ${userId}`);

    /** Everything published so far has reached `log` once this resolves. */
    const barrier = async (log: PresenceState[] = heard) => {
      const sentinel = uid('barrier');
      await store.beat(sentinel, Date.now());
      await heardCount(log, sentinel, 1);
    };

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

    const openPeer = async (): Promise<PresenceStore> => {
      if (!handle.openPeer) throw new Error(`${name} runs the cluster cases but has no openPeer`);
      const peer = await handle.openPeer();
      peers.push(peer);
      return peer;
    };

    beforeEach(async () => {
      handle = await open();
      store = handle.store;
      heard = listen(store);
      peers = [];
    });

    afterEach(async () => {
      await Promise.all(peers.map((p) => p.close()));
      await handle.close();
    });

    it('reports unknown users as offline and never seen', async () => {
      const [a, b] = [uid('a'), uid('b')];
      expect(await store.get([a, b])).toEqual([
        { user_id: a, online: false, last_seen: null },
        { user_id: b, online: false, last_seen: null },
      ]);
      expect(await store.get([])).toEqual([]);
    });

    it('announces the first beat as one online transition, and repeated beats as none', async () => {
      const user = uid('u');
      const other = uid('other');
      const t0 = Date.now();
      await store.beat(user, t0);
      await heardCount(heard, user, 1);
      expect(heardFor(user)).toEqual([{ user_id: user, online: true, last_seen: t0 }]);
      expect(await store.get([user, other])).toEqual([
        { user_id: user, online: true, last_seen: t0 },
        { user_id: other, online: false, last_seen: null },
      ]);

      await sleep(5);
      const t1 = Date.now();
      await Promise.all([store.beat(user, t1), store.beat(user, t1)]);
      expect(await store.get([user])).toEqual([{ user_id: user, online: true, last_seen: t1 }]);
      await barrier();
      expect(heardFor(user)).toHaveLength(1);
      expect(heardFor(other)).toEqual([]);
    });

    it('lets every listener hear each transition once', async () => {
      const second = listen(store);
      const user = uid('u');
      const t0 = Date.now();
      await store.beat(user, t0);
      await store.beat(user, t0);
      await store.leave(user, t0 + 1);
      await barrier();
      await barrier(second);
      expect(heardBy(second, user).map((s) => [s.user_id, s.online])).toEqual([
        [user, true],
        [user, false],
      ]);
      expect(heardFor(user).map((s) => s.online)).toEqual([true, false]);
    });

    it('answers for many users in the order asked, duplicates included', async () => {
      const users = Array.from({ length: 300 }, (_, i) => uid(`many${i}`));
      const now = Date.now();
      await Promise.all(users.filter((_, i) => i % 2 === 0).map((u) => store.beat(u, now)));
      const asked = [...users, users[0]!];
      const states = await store.get(asked);
      expect(states.map((s) => s.user_id)).toEqual(asked);
      expect(states.map((s) => s.online)).toEqual(asked.map((u) => users.indexOf(u) % 2 === 0));
      expect(states.map((s) => s.last_seen)).toEqual(
        asked.map((u) => (users.indexOf(u) % 2 === 0 ? now : null)),
      );
    });

    it('marks a user offline at once on leave, last seen at the leave (they were there until then)', async () => {
      const user = uid('u');
      const t0 = Date.now();
      await store.beat(user, t0);
      await sleep(20);
      const left = Date.now();
      await store.leave(user, left);
      expect(await store.get([user])).toEqual([{ user_id: user, online: false, last_seen: left }]);
      await heardCount(heard, user, 2);
      expect(heardFor(user)).toEqual([
        { user_id: user, online: true, last_seen: t0 },
        { user_id: user, online: false, last_seen: left },
      ]);

      // Leaving again, or leaving without ever beating, is no transition.
      await store.leave(user, Date.now());
      const stranger = uid('stranger');
      await store.leave(stranger, Date.now());
      await barrier();
      expect(heardFor(user)).toHaveLength(2);
      expect(heardFor(stranger)).toEqual([]);
      expect(await store.get([stranger])).toEqual([{ user_id: stranger, online: false, last_seen: null }]);

      // Coming back is a new online transition.
      const t2 = Date.now();
      await store.beat(user, t2);
      await heardCount(heard, user, 3);
      expect(heardFor(user).at(-1)).toEqual({ user_id: user, online: true, last_seen: t2 });
      expect(heardFor(user)).toHaveLength(3);
    });

    it('keeps a user online while beats keep coming', async () => {
      const { ttlMs } = handle;
      const user = uid('u');
      const until = Date.now() + ttlMs * 2 + handle.sweepIntervalMs;
      while (Date.now() < until) {
        await store.beat(user, Date.now());
        await sleep(Math.max(5, Math.floor(ttlMs / 4)));
      }
      await barrier();
      expect(heardFor(user).map((s) => s.online)).toEqual([true]);
      expect((await store.get([user]))[0]?.online).toBe(true);
    });

    it('expires a silent user after the TTL, heard by the listener within ttl + sweep interval', async () => {
      const { ttlMs, sweepIntervalMs } = handle;
      const user = uid('u');
      const survivor = uid('survivor');
      const bound = ttlMs + sweepIntervalMs + TIMER_SLACK_MS;
      const offline = next(user, false, bound + 500);
      const lastBeat = Date.now();
      await Promise.all([store.beat(user, lastBeat), store.beat(survivor, lastBeat)]);
      const keepAlive = setInterval(
        () => void store.beat(survivor, Date.now()),
        Math.max(5, Math.floor(ttlMs / 4)),
      );
      try {
        const state = await offline;
        const elapsed = Date.now() - lastBeat;
        expect(state).toEqual({ user_id: user, online: false, last_seen: lastBeat });
        expect(elapsed).toBeGreaterThanOrEqual(ttlMs);
        expect(elapsed).toBeLessThanOrEqual(bound);
        expect(await store.get([user])).toEqual([{ user_id: user, online: false, last_seen: lastBeat }]);

        // Heard once, and the user who kept beating is unaffected.
        await sleep(sweepIntervalMs * 2);
        await barrier();
        expect(heardFor(user).map((s) => s.online)).toEqual([true, false]);
        expect(heardFor(survivor).map((s) => s.online)).toEqual([true]);
        expect((await store.get([survivor]))[0]?.online).toBe(true);
      } finally {
        clearInterval(keepAlive);
      }
    });

    if (!options.cluster) return;

    describe('shared by several nodes', () => {
      it('has every node hear a transition, whichever node caused it', async () => {
        const peer = await openPeer();
        const peerHeard = listen(peer);
        const user = uid('u');
        const t0 = Date.now();
        await peer.beat(user, t0);
        await heardCount(heard, user, 1);
        await heardCount(peerHeard, user, 1);
        await peer.leave(user, t0 + 1);
        await heardCount(heard, user, 2);
        await heardCount(peerHeard, user, 2);
        expect(heardFor(user)).toEqual(heardBy(peerHeard, user));
        expect(heardFor(user).map((s) => [s.online, s.last_seen])).toEqual([
          [true, t0],
          [false, t0 + 1],
        ]);
        expect(await peer.get([user])).toEqual(await store.get([user]));
      });

      it('never moves last_seen back for a node whose clock is behind', async () => {
        const peer = await openPeer();
        const user = uid('u');
        const t0 = Date.now();
        await store.beat(user, t0);
        await peer.beat(user, t0 - 1_000);
        expect(await peer.get([user])).toEqual([{ user_id: user, online: true, last_seen: t0 }]);
        await peer.leave(user, t0 - 500);
        await store.leave(user, t0 - 500);
        expect(await store.get([user])).toEqual([{ user_id: user, online: false, last_seen: t0 }]);
      });

      it('keeps a user online while another node still beats for them', async () => {
        const peer = await openPeer();
        const user = uid('u');
        const t0 = Date.now();
        await store.beat(user, t0);
        await peer.beat(user, t0 + 1);
        await store.leave(user, t0 + 2);
        expect((await store.get([user]))[0]?.online).toBe(true);
        await barrier();
        expect(heardFor(user).map((s) => s.online)).toEqual([true]);

        // The other node's own leave (its last connection closing) ends it.
        await peer.leave(user, t0 + 3);
        await heardCount(heard, user, 2);
        expect(heardFor(user)).toEqual([
          { user_id: user, online: true, last_seen: t0 },
          { user_id: user, online: false, last_seen: t0 + 3 },
        ]);
      });

      it("ends a dead node's users offline within ttl + sweep interval, heard by the survivors", async () => {
        const { ttlMs, sweepIntervalMs } = handle;
        const doomed = await openPeer();
        const user = uid('u');
        const bound = ttlMs + sweepIntervalMs + TIMER_SLACK_MS;
        const offline = next(user, false, bound + 500);
        const lastBeat = Date.now();
        await doomed.beat(user, lastBeat);
        // The node dies: no leave, no more beats, no more sweeps from it.
        await doomed.close();
        const state = await offline;
        expect(state).toEqual({ user_id: user, online: false, last_seen: lastBeat });
        expect(Date.now() - lastBeat).toBeLessThanOrEqual(bound);
      });
    });
  });
}
