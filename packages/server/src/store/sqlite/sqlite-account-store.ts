import { NatterError } from '@natter/protocol';
import type Database from 'better-sqlite3';
import type { AccountStore, SessionRecord, UserRecord } from '../account-store.js';

interface UserRow {
  id: string;
  username: string | null;
  display_name: string | null;
  password_hash: string | null;
  created_at: number;
}

interface SessionRow {
  token_hash: string;
  user_id: string;
  expires_at: number;
  revoked_at: number | null;
}

/** Users and sessions in the embedded database (the same file as the log). */
export class SqliteAccountStore implements AccountStore {
  private readonly sql;
  /** Ids known to exist: ensureUser runs on every JWT login, and users are never deleted. */
  private readonly knownIds = new Set<string>();

  constructor(db: Database.Database) {
    this.sql = {
      insertUser: db.prepare(
        `INSERT INTO users (id, username, display_name, password_hash, created_at)
         VALUES (@id, @username, @display_name, @password_hash, @created_at)`,
      ),
      ensureUser: db.prepare<[string, number]>(
        `INSERT INTO users (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`,
      ),
      userById: db.prepare<[string], UserRow>(`SELECT * FROM users WHERE id = ?`),
      userByUsername: db.prepare<[string], UserRow>(`SELECT * FROM users WHERE username = ?`),
      insertSession: db.prepare(
        `INSERT INTO sessions (token_hash, user_id, expires_at, revoked_at)
         VALUES (@token_hash, @user_id, @expires_at, @revoked_at)`,
      ),
      session: db.prepare<[string], SessionRow>(`SELECT * FROM sessions WHERE token_hash = ?`),
      revoke: db.prepare<[number, string]>(
        `UPDATE sessions SET revoked_at = coalesce(revoked_at, ?) WHERE token_hash = ?`,
      ),
    };
  }

  async createUser(user: UserRecord): Promise<void> {
    try {
      this.sql.insertUser.run({
        id: user.id,
        username: user.username,
        display_name: user.displayName,
        password_hash: user.passwordHash,
        created_at: user.createdAt,
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new NatterError('username_taken');
      throw error;
    }
  }

  async ensureUser(id: string): Promise<void> {
    if (this.knownIds.has(id)) return;
    this.sql.ensureUser.run(id, Date.now());
    this.knownIds.add(id);
  }

  async userById(id: string): Promise<UserRecord | null> {
    const row = this.sql.userById.get(id);
    return row ? toUser(row) : null;
  }

  async userByUsername(username: string): Promise<UserRecord | null> {
    const row = this.sql.userByUsername.get(username);
    return row ? toUser(row) : null;
  }

  async createSession(session: SessionRecord): Promise<void> {
    this.sql.insertSession.run({
      token_hash: session.tokenHash,
      user_id: session.userId,
      expires_at: session.expiresAt,
      revoked_at: session.revokedAt,
    });
  }

  async sessionByTokenHash(tokenHash: string): Promise<SessionRecord | null> {
    const row = this.sql.session.get(tokenHash);
    return row
      ? {
          tokenHash: row.token_hash,
          userId: row.user_id,
          expiresAt: row.expires_at,
          revokedAt: row.revoked_at,
        }
      : null;
  }

  async revokeSession(tokenHash: string, at: number): Promise<void> {
    this.sql.revoke.run(at, tokenHash);
  }
}

function toUser(row: UserRow): UserRecord {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    passwordHash: row.password_hash,
    createdAt: row.created_at,
  };
}
