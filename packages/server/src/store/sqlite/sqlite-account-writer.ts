import { NatterError } from '@natter/protocol';
import type Database from 'better-sqlite3';
import type { SessionRecord, UserRecord } from '../account-store.js';

/** Account writes, run on the writer thread so that the database has exactly one writer. */
export type AccountWrite =
  | { op: 'createUser'; user: UserRecord }
  | { op: 'ensureUser'; id: string; at: number }
  | { op: 'createSession'; session: SessionRecord }
  | { op: 'revokeSession'; tokenHash: string; at: number };

export class SqliteAccountWriter {
  private readonly sql;

  constructor(db: Database.Database) {
    this.sql = {
      insertUser: db.prepare(
        `INSERT INTO users (id, username, display_name, password_hash, created_at)
         VALUES (@id, @username, @displayName, @passwordHash, @createdAt)`,
      ),
      ensureUser: db.prepare<[string, number]>(
        `INSERT INTO users (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`,
      ),
      insertSession: db.prepare(
        `INSERT INTO sessions (token_hash, user_id, expires_at, revoked_at)
         VALUES (@tokenHash, @userId, @expiresAt, @revokedAt)`,
      ),
      revoke: db.prepare<[number, string]>(
        `UPDATE sessions SET revoked_at = coalesce(revoked_at, ?) WHERE token_hash = ?`,
      ),
    };
  }

  /** Throws `username_taken` for a duplicate (case-insensitive) username. */
  apply(write: AccountWrite): void {
    switch (write.op) {
      case 'createUser':
        try {
          this.sql.insertUser.run(write.user);
        } catch (error) {
          if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
            throw new NatterError('username_taken');
          throw error;
        }
        return;
      case 'ensureUser':
        this.sql.ensureUser.run(write.id, write.at);
        return;
      case 'createSession':
        this.sql.insertSession.run(write.session);
        return;
      case 'revokeSession':
        this.sql.revoke.run(write.at, write.tokenHash);
        return;
    }
  }
}
