import type Database from 'better-sqlite3';
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
import type { SqliteWriterClient } from './sqlite-writer-client.js';

/** The embedded webhook queue: writes on the writer thread, reads on this thread's connection. */
export class SqliteWebhookStore implements WebhookStore {
  private readonly sql;

  constructor(
    db: Database.Database,
    private readonly writer: SqliteWriterClient,
  ) {
    this.sql = {
      all: db.prepare<[], WebhookRow>(`SELECT * FROM webhooks ORDER BY created_at, id`),
      one: db.prepare<[string], WebhookRow>(`SELECT * FROM webhooks WHERE id = ?`),
      deliveries: db.prepare<[string, number, number], DeliveryRow>(
        `SELECT * FROM webhook_deliveries WHERE webhook_id = ? AND created_at < ?
         ORDER BY created_at DESC, id LIMIT ?`,
      ),
      delivery: db.prepare<[string, string], DeliveryRow>(
        `SELECT * FROM webhook_deliveries WHERE id = ? AND webhook_id = ?`,
      ),
      attempts: db.prepare<[string], AttemptRow>(
        `SELECT * FROM webhook_attempts WHERE delivery_id = ? ORDER BY at, rowid`,
      ),
    };
  }

  async createWebhook(webhook: Omit<Webhook, 'fromPos'>): Promise<Webhook> {
    return (await this.writer.webhook({ op: 'create', webhook })) as Webhook;
  }

  async webhooks(): Promise<Webhook[]> {
    return this.sql.all.all().map(webhookOf);
  }

  async webhook(id: string): Promise<Webhook | null> {
    const row = this.sql.one.get(id);
    return row ? webhookOf(row) : null;
  }

  async updateWebhook(id: string, patch: WebhookPatch): Promise<Webhook | null> {
    return (await this.writer.webhook({ op: 'update', id, patch })) as Webhook | null;
  }

  async deleteWebhook(id: string): Promise<boolean> {
    return (await this.writer.webhook({ op: 'delete', id })) === true;
  }

  async fanOut(limit: number, now: number): Promise<number> {
    return Number(await this.writer.webhook({ op: 'fanOut', limit, now }));
  }

  async claimDue(now: number, leaseMs: number, limit: number): Promise<ClaimedDelivery[]> {
    const claimed = await this.writer.webhook({ op: 'claimDue', now, leaseMs, limit });
    return Array.isArray(claimed) ? claimed : [];
  }

  async recordAttempt(attempt: WebhookAttempt, outcome: AttemptOutcome): Promise<void> {
    await this.writer.webhook({ op: 'recordAttempt', attempt, outcome });
  }

  async deliveries(webhookId: string, before: number | undefined, limit: number): Promise<WebhookDelivery[]> {
    return this.sql.deliveries.all(webhookId, before ?? Number.MAX_SAFE_INTEGER, limit).map(deliveryOf);
  }

  async delivery(webhookId: string, deliveryId: string): Promise<WebhookDelivery | null> {
    const row = this.sql.delivery.get(deliveryId, webhookId);
    return row ? deliveryOf(row) : null;
  }

  async attempts(deliveryId: string): Promise<WebhookAttempt[]> {
    return this.sql.attempts.all(deliveryId).map(attemptOf);
  }

  async replay(webhookId: string, deliveryId: string, now: number): Promise<boolean> {
    return (await this.writer.webhook({ op: 'replay', webhookId, deliveryId, now })) === true;
  }

  async prune(before: number): Promise<number> {
    return Number(await this.writer.webhook({ op: 'prune', before }));
  }
}
