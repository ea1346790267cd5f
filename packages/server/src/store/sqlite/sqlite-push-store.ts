import type Database from 'better-sqlite3';
import {
  deviceOf,
  type PushDevice,
  type PushDeviceRow,
  type PushJob,
  type PushStore,
  type PushWrite,
} from '../../push/push-store.js';
import type { SqliteWriterClient } from './sqlite-writer-client.js';

/** The embedded push queue: writes on the writer thread, reads on this thread's connection. */
export class SqlitePushStore implements PushStore {
  private readonly byUser;

  constructor(
    db: Database.Database,
    private readonly writer: SqliteWriterClient,
  ) {
    this.byUser = db.prepare<[string], PushDeviceRow>(
      `SELECT token, user_id, session_key, provider, keys, created_at FROM push_devices
       WHERE user_id = ? ORDER BY created_at`,
    );
  }

  private write(write: PushWrite): Promise<PushJob[] | number> {
    return this.writer.push(write);
  }

  async registerDevice(device: PushDevice): Promise<void> {
    await this.write({ op: 'registerDevice', device });
  }

  async removeDevice(token: string): Promise<void> {
    await this.write({ op: 'removeDevice', token });
  }

  async devicesOf(userId: string): Promise<PushDevice[]> {
    return this.byUser.all(userId).map(deviceOf);
  }

  async enqueue(job: Parameters<PushStore['enqueue']>[0]): Promise<void> {
    await this.write({ op: 'enqueue', job });
  }

  async claimDue(now: number, leaseMs: number, limit: number): Promise<PushJob[]> {
    const jobs = await this.write({ op: 'claimDue', now, leaseMs, limit });
    return typeof jobs === 'number' ? [] : jobs;
  }

  async settle(token: string, conversationId: string, version: number, now: number): Promise<void> {
    await this.write({ op: 'settle', token, conversationId, version, now });
  }

  async retryAt(token: string, conversationId: string, dueAt: number): Promise<void> {
    await this.write({ op: 'retryAt', token, conversationId, dueAt });
  }

  async dropExpired(now: number): Promise<number> {
    const dropped = await this.write({ op: 'dropExpired', now });
    return typeof dropped === 'number' ? dropped : 0;
  }
}
