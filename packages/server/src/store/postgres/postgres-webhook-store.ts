import { deliveriesFor } from '../../webhooks/webhook-events.js';
import {
  type AttemptOutcome,
  type AttemptRow,
  attemptOf,
  type ClaimedDelivery,
  type DeliveryRow,
  deliveryOf,
  type Webhook,
  type WebhookAttempt,
  type WebhookDelivery,
  type WebhookPatch,
  type WebhookRow,
  type WebhookStore,
  webhookOf,
} from '../../webhooks/webhook-store.js';
import type { Guarded } from './postgres-health.js';
import type { PostgresPool } from './postgres-pool.js';
import { type EventRow, toChatEvent } from './postgres-rows.js';

/**
 * The cluster's webhook queue, shared by every node. The fan-out takes the one cursor row FOR
 * UPDATE, so nodes take turns and each event is fanned out once; `claimDue` takes deliveries with
 * FOR UPDATE SKIP LOCKED, so nodes claiming at once never get the same one.
 */
export class PostgresWebhookStore implements WebhookStore {
  constructor(
    private readonly pool: PostgresPool,
    private readonly guard: Guarded,
  ) {}

  async createWebhook(webhook: Omit<Webhook, 'fromPos'>): Promise<Webhook> {
    const [row] = await this.guard(
      () => this.pool.sql<WebhookRow[]>`
        INSERT INTO webhooks (id, url, events, description, enabled, secret, created_at, from_pos)
        SELECT ${webhook.id}, ${webhook.url}, ${webhook.events.join(',')}, ${webhook.description},
          ${webhook.enabled}, ${webhook.secret}, ${webhook.createdAt}, position FROM change_clock
        RETURNING *`,
    );
    return webhookOf(row!);
  }

  async webhooks(): Promise<Webhook[]> {
    const rows = await this.guard(
      () => this.pool.sql<WebhookRow[]>`SELECT * FROM webhooks ORDER BY created_at, id`,
    );
    return rows.map(webhookOf);
  }

  async webhook(id: string): Promise<Webhook | null> {
    const [row] = await this.guard(
      () => this.pool.sql<WebhookRow[]>`SELECT * FROM webhooks WHERE id = ${id}`,
    );
    return row ? webhookOf(row) : null;
  }

  async updateWebhook(id: string, patch: WebhookPatch): Promise<Webhook | null> {
    const [row] = await this.guard(
      () => this.pool.sql<WebhookRow[]>`
        UPDATE webhooks SET
          url = coalesce(${patch.url ?? null}, url),
          events = coalesce(${patch.events?.join(',') ?? null}, events),
          description = CASE WHEN ${patch.description !== undefined} THEN ${patch.description ?? null} ELSE description END,
          enabled = coalesce(${patch.enabled ?? null}, enabled),
          secret = coalesce(${patch.secret ?? null}, secret)
        WHERE id = ${id} RETURNING *`,
    );
    return row ? webhookOf(row) : null;
  }

  async deleteWebhook(id: string): Promise<boolean> {
    return this.guard(() =>
      this.pool.transaction('ISOLATION LEVEL READ COMMITTED', async (tx) => {
        await tx`DELETE FROM webhook_attempts WHERE delivery_id IN (
          SELECT id FROM webhook_deliveries WHERE webhook_id = ${id})`;
        await tx`DELETE FROM webhook_deliveries WHERE webhook_id = ${id}`;
        const deleted = await tx`DELETE FROM webhooks WHERE id = ${id}`;
        return deleted.count > 0;
      }),
    );
  }

  async fanOut(limit: number, now: number): Promise<number> {
    return this.guard(() =>
      this.pool.transaction('ISOLATION LEVEL READ COMMITTED', async (tx) => {
        const [cursor] = await tx<{ position: number }[]>`SELECT position FROM webhook_cursor FOR UPDATE`;
        const webhooks = (await tx<WebhookRow[]>`SELECT * FROM webhooks WHERE enabled`).map(webhookOf);
        if (webhooks.length === 0) {
          // Nobody to deliver to: the cursor skips to the present without reading the log.
          await tx`UPDATE webhook_cursor SET position = (SELECT position FROM change_clock)`;
          return 0;
        }
        const rows = await tx<(EventRow & { pos: number })[]>`
          SELECT * FROM events WHERE pos > ${cursor!.position} ORDER BY pos LIMIT ${limit}`;
        if (rows.length === 0) return 0;
        const deliveries = rows.flatMap((row) => deliveriesFor(toChatEvent(row), row.pos, webhooks, now));
        if (deliveries.length > 0) {
          await tx`
            INSERT INTO webhook_deliveries
              (id, webhook_id, type, payload, event_pos, status, attempts, created_at, due_at)
            SELECT id, webhook_id, type, payload, event_pos, 'pending', 0, ${now}, ${now}
            FROM unnest(${deliveries.map((d) => d.id)}::text[], ${deliveries.map((d) => d.webhookId)}::text[],
              ${deliveries.map((d) => d.type)}::text[], ${deliveries.map((d) => d.payload)}::text[],
              ${deliveries.map((d) => d.eventPos)}::bigint[])
              AS d(id, webhook_id, type, payload, event_pos)
            ON CONFLICT (id) DO NOTHING`;
        }
        await tx`UPDATE webhook_cursor SET position = ${rows.at(-1)!.pos}`;
        return rows.length;
      }),
    );
  }

  async claimDue(now: number, leaseMs: number, limit: number): Promise<ClaimedDelivery[]> {
    const rows = await this.guard(
      () => this.pool.sql<ClaimedRow[]>`
        WITH due AS (
          SELECT id FROM webhook_deliveries WHERE status = 'pending' AND due_at <= ${now}
          ORDER BY due_at, event_pos LIMIT ${limit} FOR UPDATE SKIP LOCKED
        ), claimed AS (
          UPDATE webhook_deliveries d SET due_at = ${now + leaseMs}, attempts = d.attempts + 1
          FROM due WHERE d.id = due.id
          RETURNING d.id, d.webhook_id, d.payload, d.attempts, d.created_at, d.event_pos
        )
        SELECT c.id, c.webhook_id, w.url, w.secret, c.payload, c.attempts, c.created_at
        FROM claimed c JOIN webhooks w ON w.id = c.webhook_id ORDER BY c.event_pos`,
    );
    return rows.map((row) => ({
      id: row.id,
      webhookId: row.webhook_id,
      url: row.url,
      secret: row.secret,
      payload: row.payload,
      attempts: row.attempts,
      createdAt: row.created_at,
    }));
  }

  async recordAttempt(attempt: WebhookAttempt, outcome: AttemptOutcome): Promise<void> {
    const dueAt = outcome.status === 'pending' ? outcome.dueAt : attempt.at;
    const deliveredAt = outcome.status === 'delivered' ? attempt.at : null;
    await this.guard(() =>
      this.pool.transaction('ISOLATION LEVEL READ COMMITTED', async (tx) => {
        await tx`
          INSERT INTO webhook_attempts (delivery_id, at, status_code, error, duration_ms)
          VALUES (${attempt.deliveryId}, ${attempt.at}, ${attempt.statusCode}, ${attempt.error},
            ${attempt.durationMs})`;
        await tx`
          UPDATE webhook_deliveries SET status = ${outcome.status}, due_at = ${dueAt},
            last_status = ${attempt.statusCode}, last_error = ${attempt.error}, delivered_at = ${deliveredAt}
          WHERE id = ${attempt.deliveryId}`;
      }),
    );
  }

  async deliveries(webhookId: string, before: number | undefined, limit: number): Promise<WebhookDelivery[]> {
    const rows = await this.guard(
      () => this.pool.sql<DeliveryRow[]>`
        SELECT * FROM webhook_deliveries
        WHERE webhook_id = ${webhookId} AND created_at < ${before ?? Number.MAX_SAFE_INTEGER}
        ORDER BY created_at DESC, id LIMIT ${limit}`,
    );
    return rows.map(deliveryOf);
  }

  async delivery(webhookId: string, deliveryId: string): Promise<WebhookDelivery | null> {
    const [row] = await this.guard(
      () => this.pool.sql<DeliveryRow[]>`
        SELECT * FROM webhook_deliveries WHERE id = ${deliveryId} AND webhook_id = ${webhookId}`,
    );
    return row ? deliveryOf(row) : null;
  }

  async attempts(deliveryId: string): Promise<WebhookAttempt[]> {
    const rows = await this.guard(
      () => this.pool.sql<AttemptRow[]>`
        SELECT * FROM webhook_attempts WHERE delivery_id = ${deliveryId} ORDER BY at`,
    );
    return rows.map(attemptOf);
  }

  async replay(webhookId: string, deliveryId: string, now: number): Promise<boolean> {
    const result = await this.guard(
      () => this.pool.sql`
        UPDATE webhook_deliveries SET status = 'pending', due_at = ${now}
        WHERE id = ${deliveryId} AND webhook_id = ${webhookId}`,
    );
    return result.count > 0;
  }

  async prune(before: number): Promise<number> {
    return this.guard(() =>
      this.pool.transaction('ISOLATION LEVEL READ COMMITTED', async (tx) => {
        await tx`DELETE FROM webhook_attempts WHERE delivery_id IN (
          SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ${before})`;
        const pruned = await tx`
          DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ${before}`;
        return pruned.count;
      }),
    );
  }
}

interface ClaimedRow {
  id: string;
  webhook_id: string;
  url: string;
  secret: string;
  payload: string;
  attempts: number;
  created_at: number;
}
