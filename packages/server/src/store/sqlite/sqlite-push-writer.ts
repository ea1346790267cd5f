import type Database from 'better-sqlite3';
import { jobOf, type PushJob, type PushJobRow, type PushWrite } from '../../push/push-store.js';

/** The push queue's writes, on the writer thread (the database has exactly one writer). */
export class SqlitePushWriter {
  private readonly sql;

  constructor(private readonly db: Database.Database) {
    this.sql = {
      register: db.prepare(
        `INSERT INTO push_devices (token, user_id, session_key, provider, keys, created_at)
         VALUES (@token, @userId, @sessionKey, @provider, @keys, @createdAt)
         ON CONFLICT (token) DO UPDATE SET user_id = excluded.user_id, session_key = excluded.session_key,
           provider = excluded.provider, keys = excluded.keys, created_at = excluded.created_at`,
      ),
      dropJobsOf: db.prepare<[string]>(`DELETE FROM push_jobs WHERE token = ?`),
      remove: db.prepare<[string]>(`DELETE FROM push_devices WHERE token = ?`),
      enqueue: db.prepare(
        `INSERT INTO push_jobs (token, conversation_id, message, version, attempts, due_at, expires_at)
         SELECT @token, @conversationId, @message, 1, 0, @dueAt, @expiresAt
         FROM push_devices WHERE token = @token
         ON CONFLICT (token, conversation_id) DO UPDATE SET message = excluded.message,
           version = push_jobs.version + 1, expires_at = excluded.expires_at`,
      ),
      due: db.prepare<[number, number, number], PushJobRow>(
        `SELECT j.token, j.conversation_id, d.user_id, d.session_key, d.provider, d.keys, j.message, j.version,
           j.attempts, j.expires_at
         FROM push_jobs j JOIN push_devices d ON d.token = j.token
         WHERE j.due_at <= ? AND j.expires_at > ? ORDER BY j.due_at LIMIT ?`,
      ),
      lease: db.prepare<[number, string, string]>(
        `UPDATE push_jobs SET due_at = ? WHERE token = ? AND conversation_id = ?`,
      ),
      settle: db.prepare<[string, string, number]>(
        `DELETE FROM push_jobs WHERE token = ? AND conversation_id = ? AND version = ?`,
      ),
      dueNow: db.prepare<[number, string, string]>(
        `UPDATE push_jobs SET due_at = ? WHERE token = ? AND conversation_id = ?`,
      ),
      retry: db.prepare<[number, string, string]>(
        `UPDATE push_jobs SET due_at = ?, attempts = attempts + 1 WHERE token = ? AND conversation_id = ?`,
      ),
      dropExpired: db.prepare<[number]>(`DELETE FROM push_jobs WHERE expires_at <= ?`),
    };
  }

  /** Each write in a transaction of its own; claimDue answers the jobs, dropExpired a count. */
  apply(write: PushWrite): PushJob[] | number {
    return this.db.transaction(() => this.applyInTransaction(write))();
  }

  private applyInTransaction(write: PushWrite): PushJob[] | number {
    const { sql } = this;
    switch (write.op) {
      case 'registerDevice': {
        const { device } = write;
        return sql.register.run({
          token: device.token,
          userId: device.userId,
          sessionKey: device.sessionKey,
          provider: device.provider,
          keys: device.keys === null ? null : JSON.stringify(device.keys),
          createdAt: device.createdAt,
        }).changes;
      }
      case 'removeDevice':
        sql.dropJobsOf.run(write.token);
        return sql.remove.run(write.token).changes;
      case 'enqueue': {
        const { job } = write;
        return sql.enqueue.run({ ...job, message: JSON.stringify(job.message) }).changes;
      }
      case 'claimDue': {
        const rows = sql.due.all(write.now, write.now, write.limit);
        for (const row of rows) sql.lease.run(write.now + write.leaseMs, row.token, row.conversation_id);
        return rows.map(jobOf);
      }
      case 'settle': {
        const deleted = sql.settle.run(write.token, write.conversationId, write.version).changes;
        if (deleted === 0) sql.dueNow.run(write.now, write.token, write.conversationId);
        return deleted;
      }
      case 'retryAt':
        return sql.retry.run(write.dueAt, write.token, write.conversationId).changes;
      case 'dropExpired':
        return sql.dropExpired.run(write.now).changes;
    }
  }
}
