import {
  deviceOf,
  jobOf,
  type PushDevice,
  type PushDeviceRow,
  type PushJob,
  type PushJobRow,
  type PushStore,
} from '../../push/push-store.js';
import type { Guarded } from './postgres-health.js';
import type { PostgresPool } from './postgres-pool.js';

/**
 * The cluster's push queue, shared by every node: `claimDue` takes its jobs with
 * FOR UPDATE SKIP LOCKED, so nodes claiming at once never get the same job.
 */
export class PostgresPushStore implements PushStore {
  constructor(
    private readonly pool: PostgresPool,
    private readonly guard: Guarded,
  ) {}

  async registerDevice(device: PushDevice): Promise<void> {
    const keys = device.keys === null ? null : JSON.stringify(device.keys);
    await this.guard(
      () => this.pool.sql`
        INSERT INTO push_devices (token, user_id, session_key, provider, keys, created_at)
        VALUES (${device.token}, ${device.userId}, ${device.sessionKey}, ${device.provider}, ${keys},
          ${device.createdAt})
        ON CONFLICT (token) DO UPDATE SET user_id = excluded.user_id, session_key = excluded.session_key,
          provider = excluded.provider, keys = excluded.keys, created_at = excluded.created_at`,
    );
  }

  async removeDevice(token: string): Promise<void> {
    await this.guard(() =>
      this.pool.transaction('ISOLATION LEVEL READ COMMITTED', async (tx) => {
        await tx`DELETE FROM push_jobs WHERE token = ${token}`;
        await tx`DELETE FROM push_devices WHERE token = ${token}`;
      }),
    );
  }

  async devicesOf(userId: string): Promise<PushDevice[]> {
    const rows = await this.guard(
      () => this.pool.sql<PushDeviceRow[]>`
        SELECT token, user_id, session_key, provider, keys, created_at FROM push_devices
        WHERE user_id = ${userId} ORDER BY created_at`,
    );
    return rows.map(deviceOf);
  }

  async enqueue(job: Parameters<PushStore['enqueue']>[0]): Promise<void> {
    const message = JSON.stringify(job.message);
    await this.guard(
      () => this.pool.sql`
        INSERT INTO push_jobs (token, conversation_id, message, version, attempts, due_at, expires_at)
        SELECT ${job.token}, ${job.conversationId}, ${message}, 1, 0, ${job.dueAt}, ${job.expiresAt}
        FROM push_devices WHERE token = ${job.token}
        ON CONFLICT (token, conversation_id) DO UPDATE SET message = excluded.message,
          version = push_jobs.version + 1, expires_at = excluded.expires_at`,
    );
  }

  async claimDue(now: number, leaseMs: number, limit: number): Promise<PushJob[]> {
    const rows = await this.guard(
      () => this.pool.sql<PushJobRow[]>`
        WITH due AS (
          SELECT token, conversation_id FROM push_jobs
          WHERE due_at <= ${now} AND expires_at > ${now}
          ORDER BY due_at LIMIT ${limit} FOR UPDATE SKIP LOCKED
        ), claimed AS (
          UPDATE push_jobs j SET due_at = ${now + leaseMs} FROM due
          WHERE j.token = due.token AND j.conversation_id = due.conversation_id
          RETURNING j.*
        )
        SELECT c.token, c.conversation_id, d.user_id, d.session_key, d.provider, d.keys, c.message, c.version,
          c.attempts, c.expires_at
        FROM claimed c JOIN push_devices d ON d.token = c.token`,
    );
    return rows.map(jobOf);
  }

  async settle(token: string, conversationId: string, version: number, now: number): Promise<void> {
    await this.guard(
      () => this.pool.sql`
        WITH settled AS (
          DELETE FROM push_jobs WHERE token = ${token} AND conversation_id = ${conversationId}
            AND version = ${version} RETURNING 1
        )
        UPDATE push_jobs SET due_at = ${now}
        WHERE token = ${token} AND conversation_id = ${conversationId} AND NOT EXISTS (SELECT 1 FROM settled)`,
    );
  }

  async retryAt(token: string, conversationId: string, dueAt: number): Promise<void> {
    await this.guard(
      () => this.pool.sql`
        UPDATE push_jobs SET due_at = ${dueAt}, attempts = attempts + 1
        WHERE token = ${token} AND conversation_id = ${conversationId}`,
    );
  }

  async dropExpired(now: number): Promise<number> {
    const result = await this.guard(() => this.pool.sql`DELETE FROM push_jobs WHERE expires_at <= ${now}`);
    return result.count;
  }
}
