import type Database from 'better-sqlite3';
import {
  KnownUserIds,
  type SessionRow,
  toSessionRecord,
  toUserRecord,
  type UserRow,
} from '../account-rows.js';
import type { AccountStore, SessionRecord, UserRecord } from '../account-store.js';
import type { SqliteWriterClient } from './sqlite-writer-client.js';

/** Users and sessions in the embedded database (the same file as the log); writes go to the writer thread. */
export class SqliteAccountStore implements AccountStore {
  private readonly sql;
  private readonly knownIds = new KnownUserIds();

  constructor(
    db: Database.Database,
    private readonly writer: SqliteWriterClient,
  ) {
    this.sql = {
      userById: db.prepare<[string], UserRow>(`SELECT * FROM users WHERE id = ?`),
      userByUsername: db.prepare<[string], UserRow>(`SELECT * FROM users WHERE username = ?`),
      session: db.prepare<[string], SessionRow>(`SELECT * FROM sessions WHERE token_hash = ?`),
    };
  }

  createUser(user: UserRecord): Promise<void> {
    return this.writer.account({ op: 'createUser', user });
  }

  async ensureUser(id: string): Promise<void> {
    if (this.knownIds.has(id)) return;
    await this.writer.account({ op: 'ensureUser', id, at: Date.now() });
    this.knownIds.add(id);
  }

  async userById(id: string): Promise<UserRecord | null> {
    const row = this.sql.userById.get(id);
    return row ? toUserRecord(row) : null;
  }

  async userByUsername(username: string): Promise<UserRecord | null> {
    const row = this.sql.userByUsername.get(username);
    return row ? toUserRecord(row) : null;
  }

  createSession(session: SessionRecord): Promise<void> {
    return this.writer.account({ op: 'createSession', session });
  }

  async sessionByTokenHash(tokenHash: string): Promise<SessionRecord | null> {
    const row = this.sql.session.get(tokenHash);
    return row ? toSessionRecord(row) : null;
  }

  revokeSession(tokenHash: string, at: number): Promise<void> {
    return this.writer.account({ op: 'revokeSession', tokenHash, at });
  }
}
