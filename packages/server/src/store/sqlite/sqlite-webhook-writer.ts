import type Database from 'better-sqlite3';
import { deliveriesFor } from '../../webhooks/webhook-events.js';
import {
  type ClaimedDelivery,
  type Webhook,
  type WebhookRow,
  type WebhookWrite,
  type WebhookWriteResult,
  webhookOf,
} from '../../webhooks/webhook-store.js';
import { type EventRow, toChatEvent } from './sqlite-rows.js';

/** The webhook queue's writes, on the writer thread (the database has exactly one writer). */
export class SqliteWebhookWriter {
  private readonly sql;

  constructor(private readonly db: Database.Database) {
    this.sql = {
      position: db.prepare<[], { value: number }>(`SELECT value FROM meta WHERE key = 'position'`),
      insert: db.prepare(
        `INSERT INTO webhooks (id, url, events, description, enabled, secret, created_at, from_pos)
         VALUES (@id, @url, @events, @description, @enabled, @secret, @createdAt, @fromPos)`,
      ),
      byId: db.prepare<[string], WebhookRow>(`SELECT * FROM webhooks WHERE id = ?`),
      update: db.prepare(
        `UPDATE webhooks SET url = @url, events = @events, description = @description,
           enabled = @enabled, secret = @secret WHERE id = @id`,
      ),
      delete: db.prepare<[string]>(`DELETE FROM webhooks WHERE id = ?`),
      deleteDeliveries: db.prepare<[string]>(
        `DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE webhook_id = ?)`,
      ),
      deleteDeliveryRows: db.prepare<[string]>(`DELETE FROM webhook_deliveries WHERE webhook_id = ?`),
      cursor: db.prepare<[], { value: number }>(`SELECT value FROM meta WHERE key = 'webhook_cursor'`),
      setCursor: db.prepare<[number]>(`UPDATE meta SET value = ? WHERE key = 'webhook_cursor'`),
      eventsAfter: db.prepare<[number, number], EventRow>(
        `SELECT * FROM events WHERE pos > ? ORDER BY pos LIMIT ?`,
      ),
      enabled: db.prepare<[], WebhookRow>(`SELECT * FROM webhooks WHERE enabled = 1`),
      addDelivery: db.prepare(
        `INSERT INTO webhook_deliveries (id, webhook_id, type, payload, event_pos, status, attempts, created_at, due_at)
         VALUES (@id, @webhookId, @type, @payload, @eventPos, 'pending', 0, @createdAt, @createdAt)
         ON CONFLICT (id) DO NOTHING`,
      ),
      due: db.prepare<[number, number], ClaimedRow>(
        `SELECT d.id, d.webhook_id, w.url, w.secret, d.payload, d.attempts, d.created_at
         FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.status = 'pending' AND d.due_at <= ? ORDER BY d.due_at, d.event_pos LIMIT ?`,
      ),
      lease: db.prepare<[number, string]>(
        `UPDATE webhook_deliveries SET due_at = ?, attempts = attempts + 1 WHERE id = ?`,
      ),
      attempt: db.prepare(
        `INSERT INTO webhook_attempts (delivery_id, at, status_code, error, duration_ms)
         VALUES (@deliveryId, @at, @statusCode, @error, @durationMs)`,
      ),
      settle: db.prepare(
        `UPDATE webhook_deliveries SET status = @status, due_at = @dueAt, last_status = @statusCode,
           last_error = @error, delivered_at = @deliveredAt WHERE id = @id`,
      ),
      replay: db.prepare<[number, string, string]>(
        `UPDATE webhook_deliveries SET status = 'pending', due_at = ? WHERE id = ? AND webhook_id = ?`,
      ),
      pruneAttempts: db.prepare<[number]>(
        `DELETE FROM webhook_attempts WHERE delivery_id IN (
           SELECT id FROM webhook_deliveries WHERE status != 'pending' AND created_at < ?)`,
      ),
      prune: db.prepare<[number]>(
        `DELETE FROM webhook_deliveries WHERE status != 'pending' AND created_at < ?`,
      ),
    };
  }

  /** Each write in a transaction of its own. */
  apply(write: WebhookWrite): WebhookWriteResult {
    return this.db.transaction(() => this.applyInTransaction(write))();
  }

  private applyInTransaction(write: WebhookWrite): WebhookWriteResult {
    switch (write.op) {
      case 'create': {
        const fromPos = this.sql.position.get()?.value ?? 0;
        const { webhook } = write;
        this.sql.insert.run({
          ...webhook,
          events: webhook.events.join(','),
          enabled: webhook.enabled ? 1 : 0,
          fromPos,
        });
        return { ...webhook, fromPos };
      }
      case 'update': {
        const row = this.sql.byId.get(write.id);
        if (!row) return null;
        const next: Webhook = { ...webhookOf(row), ...write.patch };
        this.sql.update.run({
          id: next.id,
          url: next.url,
          events: next.events.join(','),
          description: next.description,
          enabled: next.enabled ? 1 : 0,
          secret: next.secret,
        });
        return next;
      }
      case 'delete':
        this.sql.deleteDeliveries.run(write.id);
        this.sql.deleteDeliveryRows.run(write.id);
        return this.sql.delete.run(write.id).changes > 0;
      case 'fanOut': {
        const webhooks = this.sql.enabled.all().map(webhookOf);
        if (webhooks.length === 0) {
          // Nobody to deliver to: the cursor skips to the present without reading the log.
          this.sql.setCursor.run(this.sql.position.get()?.value ?? 0);
          return 0;
        }
        const cursor = this.sql.cursor.get()?.value ?? 0;
        const rows = this.sql.eventsAfter.all(cursor, write.limit);
        if (rows.length === 0) return 0;
        for (const row of rows)
          for (const delivery of deliveriesFor(toChatEvent(row), row.pos, webhooks, write.now))
            this.sql.addDelivery.run(delivery);
        this.sql.setCursor.run(rows.at(-1)!.pos);
        return rows.length;
      }
      case 'claimDue': {
        const rows = this.sql.due.all(write.now, write.limit);
        for (const row of rows) this.sql.lease.run(write.now + write.leaseMs, row.id);
        return rows.map(claimedOf);
      }
      case 'recordAttempt': {
        const { attempt, outcome } = write;
        this.sql.attempt.run(attempt);
        this.sql.settle.run({
          id: attempt.deliveryId,
          status: outcome.status,
          dueAt: outcome.status === 'pending' ? outcome.dueAt : attempt.at,
          statusCode: attempt.statusCode,
          error: attempt.error,
          deliveredAt: outcome.status === 'delivered' ? attempt.at : null,
        });
        return null;
      }
      case 'replay':
        return this.sql.replay.run(write.now, write.deliveryId, write.webhookId).changes > 0;
      case 'prune':
        this.sql.pruneAttempts.run(write.before);
        return this.sql.prune.run(write.before).changes;
    }
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

/** The row as claimed, with the attempt the claim counted. */
function claimedOf(row: ClaimedRow): ClaimedDelivery {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    url: row.url,
    secret: row.secret,
    payload: row.payload,
    attempts: row.attempts + 1,
    createdAt: row.created_at,
  };
}
