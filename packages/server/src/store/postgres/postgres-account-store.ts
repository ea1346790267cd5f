import { NatterError } from '@natter/protocol';
import postgres from 'postgres';
import type { AccountStore, SessionRecord, UserRecord } from '../account-store.js';
import type { Guarded } from './postgres-health.js';
import type { PostgresPool } from './postgres-pool.js';

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

/**
 * Users and sessions in PostgreSQL. Each write is one statement, committed (and flushed, with
 * synchronous_commit=on) before its promise resolves. Usernames are unique case-insensitively
 * through a unique index on lower(username).
 */
export class PostgresAccountStore implements AccountStore {
  /** Ids known to exist: ensureUser runs on every JWT login, and users are never deleted. */
  private readonly knownIds = new Set<string>();

  constructor(
    private readonly pool: PostgresPool,
    private readonly guard: Guarded,
  ) {}

  createUser(user: UserRecord): Promise<void> {
    return this.guard(async () => {
      try {
        await this.pool.sql`
          INSERT INTO users (id, username, display_name, password_hash, created_at)
          VALUES (${user.id}, ${user.username}, ${user.displayName}, ${user.passwordHash}, ${user.createdAt})`;
      } catch (error) {
        if (error instanceof postgres.PostgresError && error.constraint_name === 'users_username_key') {
          throw new NatterError('username_taken');
        }
        throw error;
      }
    });
  }

  async ensureUser(id: string): Promise<void> {
    if (this.knownIds.has(id)) return;
    await this.guard(
      () =>
        this.pool
          .sql`INSERT INTO users (id, created_at) VALUES (${id}, ${Date.now()}) ON CONFLICT (id) DO NOTHING`,
    );
    if (this.knownIds.size >= KNOWN_IDS_MAX) this.knownIds.clear();
    this.knownIds.add(id);
  }

  userById(id: string): Promise<UserRecord | null> {
    return this.guard(async () => {
      const [row] = await this.pool.sql<UserRow[]>`SELECT * FROM users WHERE id = ${id}`;
      return row ? toUser(row) : null;
    });
  }

  userByUsername(username: string): Promise<UserRecord | null> {
    return this.guard(async () => {
      const [row] = await this.pool.sql<
        UserRow[]
      >`SELECT * FROM users WHERE lower(username) = lower(${username})`;
      return row ? toUser(row) : null;
    });
  }

  createSession(session: SessionRecord): Promise<void> {
    return this.guard(async () => {
      await this.pool.sql`
        INSERT INTO sessions (token_hash, user_id, expires_at, revoked_at)
        VALUES (${session.tokenHash}, ${session.userId}, ${session.expiresAt}, ${session.revokedAt})`;
    });
  }

  sessionByTokenHash(tokenHash: string): Promise<SessionRecord | null> {
    return this.guard(async () => {
      const [row] = await this.pool.sql<SessionRow[]>`SELECT * FROM sessions WHERE token_hash = ${tokenHash}`;
      return row
        ? {
            tokenHash: row.token_hash,
            userId: row.user_id,
            expiresAt: row.expires_at,
            revokedAt: row.revoked_at,
          }
        : null;
    });
  }

  revokeSession(tokenHash: string, at: number): Promise<void> {
    return this.guard(async () => {
      await this.pool
        .sql`UPDATE sessions SET revoked_at = coalesce(revoked_at, ${at}) WHERE token_hash = ${tokenHash}`;
    });
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
