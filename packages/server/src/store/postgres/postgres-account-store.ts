import { NatterError } from '@natter/protocol';
import postgres from 'postgres';
import {
  KnownUserIds,
  type SessionRow,
  toSessionRecord,
  toUserRecord,
  type UserRow,
} from '../account-rows.js';
import type { AccountStore, SessionRecord, UserRecord } from '../account-store.js';
import type { Guarded } from './postgres-health.js';
import type { PostgresPool } from './postgres-pool.js';

/**
 * Users and sessions in PostgreSQL. Each write is one statement, committed (and flushed, with
 * synchronous_commit=on) before its promise resolves. Usernames are unique case-insensitively
 * through a unique index on lower(username).
 */
export class PostgresAccountStore implements AccountStore {
  private readonly knownIds = new KnownUserIds();

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
    this.knownIds.add(id);
  }

  userById(id: string): Promise<UserRecord | null> {
    return this.guard(async () => {
      const [row] = await this.pool.sql<UserRow[]>`SELECT * FROM users WHERE id = ${id}`;
      return row ? toUserRecord(row) : null;
    });
  }

  userByUsername(username: string): Promise<UserRecord | null> {
    return this.guard(async () => {
      const [row] = await this.pool.sql<
        UserRow[]
      >`SELECT * FROM users WHERE lower(username) = lower(${username})`;
      return row ? toUserRecord(row) : null;
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
      return row ? toSessionRecord(row) : null;
    });
  }

  revokeSession(tokenHash: string, at: number): Promise<void> {
    return this.guard(async () => {
      await this.pool
        .sql`UPDATE sessions SET revoked_at = coalesce(revoked_at, ${at}) WHERE token_hash = ${tokenHash}`;
    });
  }
}
