import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PushMessage } from '../../src/push/push-provider.js';
import type { PushJob, PushStore } from '../../src/push/push-store.js';

export interface PushQueueHandle {
  pushStore: PushStore;
  close(): Promise<void>;
}

function message(body: string, badge = 1): PushMessage {
  return { title: 'Natter', body, conversationId: 'c', badge };
}

/**
 * The durable push queue as the PushStore port promises it. Tokens are fresh per test, and only
 * this test's jobs are looked at, so adapters may share one database.
 */
export function describePushQueueConformance(name: string, open: () => Promise<PushQueueHandle>): void {
  describe(`${name} push queue conformance`, () => {
    let handle: PushQueueHandle;
    let store: PushStore;
    const T0 = 1_000_000;

    beforeEach(async () => {
      handle = await open();
      store = handle.pushStore;
    });
    afterEach(async () => {
      await handle.close();
    });

    async function device(userId = `u-${randomUUID()}`) {
      const token = `tok-${randomUUID()}`;
      await store.registerDevice({
        token,
        userId,
        sessionKey: null,
        provider: 'fcm',
        keys: null,
        createdAt: T0,
      });
      return { token, userId };
    }

    async function claimOf(token: string, now: number, leaseMs = 30_000): Promise<PushJob[]> {
      return (await store.claimDue(now, leaseMs, 1000)).filter((j) => j.token === token);
    }

    it('registers devices per user, moves a token to its new user, and removes them', async () => {
      const { token, userId } = await device();
      await store.registerDevice({
        token: `${token}-web`,
        userId,
        sessionKey: 'session-web',
        provider: 'webpush',
        keys: { p256dh: 'p', auth: 'a' },
        createdAt: T0 + 1,
      });
      expect((await store.devicesOf(userId)).map((d) => [d.token, d.provider, d.keys, d.sessionKey])).toEqual(
        [
          [token, 'fcm', null, null],
          [`${token}-web`, 'webpush', { p256dh: 'p', auth: 'a' }, 'session-web'],
        ],
      );
      // A claimed job carries its device's session, for the liveness check at delivery.
      await store.enqueue({
        token: `${token}-web`,
        conversationId: 'c0',
        message: message('hi'),
        dueAt: T0,
        expiresAt: T0 + 10_000,
      });
      expect((await claimOf(`${token}-web`, T0)).map((j) => j.sessionKey)).toEqual(['session-web']);
      const other = `u-${randomUUID()}`;
      await store.registerDevice({
        token,
        userId: other,
        sessionKey: null,
        provider: 'fcm',
        keys: null,
        createdAt: T0 + 2,
      });
      expect((await store.devicesOf(userId)).map((d) => d.token)).toEqual([`${token}-web`]);
      expect((await store.devicesOf(other)).map((d) => d.token)).toEqual([token]);
      await store.removeDevice(token);
      expect(await store.devicesOf(other)).toEqual([]);
    });

    it('claims a due job once per lease, with its device, and settles it', async () => {
      const { token, userId } = await device();
      await store.enqueue({
        token,
        conversationId: 'c1',
        message: message('hi'),
        dueAt: T0 + 100,
        expiresAt: T0 + 10_000,
      });
      expect(await claimOf(token, T0 + 99)).toEqual([]);
      const [job] = await claimOf(token, T0 + 100);
      expect(job).toMatchObject({
        token,
        userId,
        conversationId: 'c1',
        provider: 'fcm',
        attempts: 0,
        version: 1,
      });
      expect(job!.message).toEqual(message('hi'));
      expect(await claimOf(token, T0 + 200)).toEqual([]);
      await store.settle(token, 'c1', job!.version, T0 + 200);
      expect(await claimOf(token, T0 + 100_000_000)).toEqual([]);
    });

    it('leaves a claimed job due again after its lease (a node died mid-delivery)', async () => {
      const { token } = await device();
      await store.enqueue({
        token,
        conversationId: 'c1',
        message: message('hi'),
        dueAt: T0,
        expiresAt: T0 + 100_000,
      });
      expect(await claimOf(token, T0, 5_000)).toHaveLength(1);
      expect(await claimOf(token, T0 + 4_999)).toHaveLength(0);
      expect(await claimOf(token, T0 + 5_000)).toHaveLength(1);
    });

    it('coalesces per (token, conversation): one job with the newest message', async () => {
      const { token } = await device();
      await store.enqueue({
        token,
        conversationId: 'c1',
        message: message('one', 1),
        dueAt: T0,
        expiresAt: T0 + 9_000,
      });
      await store.enqueue({
        token,
        conversationId: 'c1',
        message: message('two', 2),
        dueAt: T0 + 50,
        expiresAt: T0 + 9_050,
      });
      await store.enqueue({
        token,
        conversationId: 'c2',
        message: message('other', 3),
        dueAt: T0,
        expiresAt: T0 + 9_000,
      });
      const jobs = await claimOf(token, T0);
      expect(jobs.map((j) => [j.conversationId, j.message.body, j.version]).sort()).toEqual([
        ['c1', 'two', 2],
        ['c2', 'other', 1],
      ]);
      expect(jobs.find((j) => j.conversationId === 'c1')!.expiresAt).toBe(T0 + 9_050);
    });

    it('keeps a job enqueued onto while in flight, due at once, with the newer content', async () => {
      const { token } = await device();
      await store.enqueue({
        token,
        conversationId: 'c1',
        message: message('one'),
        dueAt: T0,
        expiresAt: T0 + 99_000,
      });
      const [job] = await claimOf(token, T0);
      await store.enqueue({
        token,
        conversationId: 'c1',
        message: message('two'),
        dueAt: T0 + 10,
        expiresAt: T0 + 99_000,
      });
      await store.settle(token, 'c1', job!.version, T0 + 20);
      const [again] = await claimOf(token, T0 + 20);
      expect(again?.message.body).toBe('two');
    });

    it('counts failed attempts and makes the job due at the backoff', async () => {
      const { token } = await device();
      await store.enqueue({
        token,
        conversationId: 'c1',
        message: message('hi'),
        dueAt: T0,
        expiresAt: T0 + 99_000,
      });
      await claimOf(token, T0);
      await store.retryAt(token, 'c1', T0 + 2_000);
      expect(await claimOf(token, T0 + 1_999)).toEqual([]);
      const [job] = await claimOf(token, T0 + 2_000);
      expect(job?.attempts).toBe(1);
    });

    it('drops expired jobs and never claims them', async () => {
      const { token } = await device();
      await store.enqueue({
        token,
        conversationId: 'c1',
        message: message('hi'),
        dueAt: T0,
        expiresAt: T0 + 1_000,
      });
      expect(await claimOf(token, T0 + 1_000)).toEqual([]);
      expect(await store.dropExpired(T0 + 1_000)).toBeGreaterThanOrEqual(1);
      expect(await claimOf(token, T0)).toEqual([]);
    });

    it('enqueues nothing for an unknown token, and forgets the jobs of a removed device', async () => {
      await store.enqueue({
        token: `tok-${randomUUID()}`,
        conversationId: 'c1',
        message: message('x'),
        dueAt: T0,
        expiresAt: T0 + 1_000,
      });
      const { token } = await device();
      await store.enqueue({
        token,
        conversationId: 'c1',
        message: message('hi'),
        dueAt: T0,
        expiresAt: T0 + 99_000,
      });
      await store.removeDevice(token);
      expect(await claimOf(token, T0)).toEqual([]);
    });
  });
}
