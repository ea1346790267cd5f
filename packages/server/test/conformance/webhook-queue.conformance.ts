import { randomUUID } from 'node:crypto';
import type { WebhookEventType } from '@natter/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogStore } from '../../src/store/log-store.js';
import type { ClaimedDelivery, WebhookStore } from '../../src/webhooks/webhook-store.js';
import { createGroup, message, run, uid } from './store-ops.js';

export interface WebhookQueueHandle {
  store: LogStore;
  webhookStore: WebhookStore;
  close(): Promise<void>;
}

/**
 * The webhook registrations and durable delivery queue as the WebhookStore port promises them.
 * Webhooks are fresh per test and only their deliveries are looked at, so adapters may share one
 * database (other tests' events are fanned out too, to their own webhooks).
 */
export function describeWebhookQueueConformance(name: string, open: () => Promise<WebhookQueueHandle>): void {
  describe(`${name} webhook queue conformance`, () => {
    let handle: WebhookQueueHandle;
    let hooks: WebhookStore;
    const T0 = 1_000_000;

    beforeEach(async () => {
      handle = await open();
      hooks = handle.webhookStore;
    });
    afterEach(async () => {
      await handle.close();
    });

    const register = (events: WebhookEventType[], enabled = true) =>
      hooks.createWebhook({
        id: `wh_${randomUUID()}`,
        url: 'https://example.test/hook',
        events,
        description: null,
        enabled,
        secret: `whsec_${randomUUID()}`,
        createdAt: T0,
      });

    /** Fans out everything committed so far. */
    async function fanOutAll(now = T0): Promise<void> {
      while ((await hooks.fanOut(500, now)) === 500);
    }

    async function claimFor(webhookId: string, now: number, leaseMs = 30_000): Promise<ClaimedDelivery[]> {
      return (await hooks.claimDue(now, leaseMs, 10_000)).filter((d) => d.webhookId === webhookId);
    }

    it('registers, lists, updates and deletes webhooks', async () => {
      const hook = await register(['message', 'edit']);
      expect(await hooks.webhook(hook.id)).toEqual(hook);
      expect((await hooks.webhooks()).map((w) => w.id)).toContain(hook.id);
      const updated = await hooks.updateWebhook(hook.id, {
        events: ['membership'],
        enabled: false,
        description: 'ops',
      });
      expect(updated).toMatchObject({
        id: hook.id,
        events: ['membership'],
        enabled: false,
        description: 'ops',
      });
      expect(updated?.secret).toBe(hook.secret);
      expect(await hooks.updateWebhook(hook.id, { description: null })).toMatchObject({ description: null });
      expect(await hooks.updateWebhook(`wh_${randomUUID()}`, { enabled: true })).toBeNull();
      expect(await hooks.deleteWebhook(hook.id)).toBe(true);
      expect(await hooks.webhook(hook.id)).toBeNull();
      expect(await hooks.deleteWebhook(hook.id)).toBe(false);
    });

    it('fans out each committed event once, to the webhooks subscribed to its type and created before it', async () => {
      const [alice, bob] = [uid('alice'), uid('bob')];
      const before = await createGroup(handle.store, alice, [bob]);
      await run(handle.store, message(before, alice, 'before any webhook'));
      const messages = await register(['message']);
      const membership = await register(['membership']);
      const disabled = await register(['message'], false);
      const conv = await createGroup(handle.store, alice, [bob]);
      await run(handle.store, message(conv, alice, 'first'));
      await run(handle.store, message(conv, bob, 'second'));
      await fanOutAll();
      await fanOutAll();

      // One claim takes every due delivery (of every webhook in the database): sort them out here.
      const all = await hooks.claimDue(T0, 30_000, 10_000);
      const of = (webhookId: string) => all.filter((d) => d.webhookId === webhookId);
      const claimed = of(messages.id);
      const bodies = claimed.map(
        (d) => JSON.parse(d.payload) as { delivery_id: string; type: string; event: { body: string } },
      );
      // At the same due time, deliveries come in the order their events were committed.
      expect(bodies.map((b) => [b.type, b.event.body])).toEqual([
        ['message', 'first'],
        ['message', 'second'],
      ]);
      expect(bodies.map((b) => b.delivery_id)).toEqual(claimed.map((d) => d.id));
      expect(claimed.every((d) => d.url === messages.url && d.secret === messages.secret)).toBe(true);
      const joined = of(membership.id);
      expect(joined.map((d) => (JSON.parse(d.payload) as { event: { kind: string } }).event.kind)).toEqual([
        'created',
      ]);
      expect(of(disabled.id)).toEqual([]);
    });

    it('leases claims, retries at the time given, stops at delivered or failed, and logs every attempt', async () => {
      const hook = await register(['message']);
      const sender = uid('alice');
      const conv = await createGroup(handle.store, sender, []);
      await run(handle.store, message(conv, sender, 'one'));
      await run(handle.store, message(conv, sender, 'two'));
      await fanOutAll();

      const [one, two] = await claimFor(hook.id, T0);
      expect([one?.attempts, two?.attempts]).toEqual([1, 1]);
      // Leased: nobody else gets them until the lease runs out.
      expect(await claimFor(hook.id, T0 + 1_000)).toEqual([]);
      await hooks.recordAttempt(
        { deliveryId: one!.id, at: T0 + 10, statusCode: 200, error: null, durationMs: 12 },
        { status: 'delivered' },
      );
      await hooks.recordAttempt(
        { deliveryId: two!.id, at: T0 + 20, statusCode: 503, error: null, durationMs: 30 },
        { status: 'pending', dueAt: T0 + 5_000 },
      );
      expect(await claimFor(hook.id, T0 + 4_999)).toEqual([]);
      const [again] = await claimFor(hook.id, T0 + 5_000);
      expect(again).toMatchObject({ id: two!.id, attempts: 2 });
      await hooks.recordAttempt(
        { deliveryId: two!.id, at: T0 + 5_010, statusCode: null, error: 'timeout', durationMs: 10_000 },
        { status: 'failed' },
      );
      expect(await claimFor(hook.id, T0 + 999_999)).toEqual([]);

      const log = await hooks.deliveries(hook.id, undefined, 10);
      expect(log.map((d) => [d.id, d.status, d.attempts]).sort()).toEqual(
        [
          [one!.id, 'delivered', 1],
          [two!.id, 'failed', 2],
        ].sort(),
      );
      expect(await hooks.delivery(hook.id, one!.id)).toMatchObject({ deliveredAt: T0 + 10, lastStatus: 200 });
      expect((await hooks.attempts(two!.id)).map((a) => [a.statusCode, a.error])).toEqual([
        [503, null],
        [null, 'timeout'],
      ]);

      // Replay: due at once again, whatever it ended as; another webhook's id is not found.
      expect(await hooks.replay(hook.id, two!.id, T0 + 6_000)).toBe(true);
      expect(await hooks.replay(`wh_${randomUUID()}`, two!.id, T0 + 6_000)).toBe(false);
      expect((await claimFor(hook.id, T0 + 6_000)).map((d) => d.id)).toEqual([two!.id]);

      // Pruning removes settled deliveries created before the time, with their attempts.
      await hooks.recordAttempt(
        { deliveryId: two!.id, at: T0 + 6_010, statusCode: 204, error: null, durationMs: 5 },
        { status: 'delivered' },
      );
      expect(await hooks.prune(T0 + 1)).toBeGreaterThanOrEqual(2);
      expect(await hooks.deliveries(hook.id, undefined, 10)).toEqual([]);
      expect(await hooks.attempts(two!.id)).toEqual([]);
    });

    it('hands a due delivery to only one of several claims at once', async () => {
      const hook = await register(['message']);
      const sender = uid('alice');
      const conv = await createGroup(handle.store, sender, []);
      for (let i = 0; i < 20; i++) await run(handle.store, message(conv, sender, `m${i}`));
      await Promise.all([fanOutAll(), fanOutAll(), fanOutAll()]);
      const claims = await Promise.all(Array.from({ length: 4 }, () => claimFor(hook.id, T0)));
      const ids = claims.flat().map((d) => d.id);
      expect(ids).toHaveLength(20);
      expect(new Set(ids).size).toBe(20);
    });
  });
}
