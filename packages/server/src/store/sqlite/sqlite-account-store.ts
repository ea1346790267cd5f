import type Database from 'better-sqlite3';
import type { AccountStore, SessionRecord, UserRecord } from '../account-store.js';
import type { SqliteWriterClient } from './sqlite-writer-client.js';

/** Bounds the memory of ids known to exist; forgetting one only costs an idempotent write. */
const KNOWN_IDS_MAX = 100_000;

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

/** Users and sessions in the embedded database (the same file as the log); writes go to the writer thread. */
export class SqliteAccountStore implements AccountStore {
  private readonly sql;
  /** Ids known to exist: ensureUser runs on every JWT login, and users are never deleted. */
  private readonly knownIds = new Set<string>();

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
    if (this.knownIds.size >= KNOWN_IDS_MAX) this.knownIds.clear();
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

  createSession(session: SessionRecord): Promise<void> {
    return this.writer.account({ op: 'createSession', session });
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

  revokeSession(tokenHash: string, at: number): Promise<void> {
    return this.writer.account({ op: 'revokeSession', tokenHash, at });
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
