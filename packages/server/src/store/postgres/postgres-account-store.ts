import { NatterError } from '@natter/protocol';
import postgres from 'postgres';
import {
  KnownUserIds,
  type SessionRow,
  toSessionRecord,
  toUserRecord,
  type UserRow,
} from '../account-rows.js';
import type {
  AccountStore,
  AvatarRecord,
  SessionRecord,
  UserCandidate,
  UserRecord,
  UserSearchQuery,
} from '../account-store.js';
import { nameWords, prefixUpperBound } from '../name-words.js';
import type { Tx } from './postgres-connection.js';
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
        await this.pool.transaction('ISOLATION LEVEL READ COMMITTED', async (tx) => {
          await tx`
            INSERT INTO users (id, username, display_name, password_hash, created_at, avatar_tag)
            VALUES (${user.id}, ${user.username}, ${user.displayName}, ${user.passwordHash},
              ${user.createdAt}, ${user.avatarTag})`;
          await indexName(tx, user.id, user.username, user.displayName);
        });
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

  async setBot(userId: string, bot: boolean): Promise<void> {
    await this.guard(() => this.pool.sql`UPDATE users SET bot = ${bot} WHERE id = ${userId}`);
  }

  setDisplayName(userId: string, displayName: string | null): Promise<void> {
    return this.guard(() =>
      this.pool.transaction('ISOLATION LEVEL READ COMMITTED', async (tx) => {
        const [user] = await tx<{ username: string | null }[]>`
          UPDATE users SET display_name = ${displayName} WHERE id = ${userId} RETURNING username`;
        if (!user) return;
        await tx`DELETE FROM user_name_words WHERE user_id = ${userId}`;
        await indexName(tx, userId, user.username, displayName);
      }),
    );
  }

  setAvatar(userId: string, avatar: AvatarRecord | null): Promise<void> {
    return this.guard(() =>
      this.pool.transaction('ISOLATION LEVEL READ COMMITTED', async (tx) => {
        const updated = await tx`UPDATE users SET avatar_tag = ${avatar?.tag ?? null} WHERE id = ${userId}`;
        if (updated.count === 0) return;
        if (avatar) {
          await tx`
            INSERT INTO avatars (user_id, content_type, bytes)
            VALUES (${userId}, ${avatar.contentType}, ${Buffer.from(avatar.bytes)})
            ON CONFLICT (user_id) DO UPDATE SET content_type = excluded.content_type, bytes = excluded.bytes`;
        } else {
          await tx`DELETE FROM avatars WHERE user_id = ${userId}`;
        }
      }),
    );
  }

  avatar(userId: string): Promise<AvatarRecord | null> {
    return this.guard(async () => {
      const [row] = await this.pool.sql<{ content_type: string; bytes: Buffer; avatar_tag: string }[]>`
        SELECT a.content_type, a.bytes, u.avatar_tag FROM avatars a JOIN users u ON u.id = a.user_id
        WHERE a.user_id = ${userId}`;
      return row ? { contentType: row.content_type, bytes: row.bytes, tag: row.avatar_tag } : null;
    });
  }

  resetPassword(userId: string, passwordHash: string, at: number): Promise<string[]> {
    return this.guard(() =>
      this.pool.transaction('ISOLATION LEVEL READ COMMITTED', async (tx) => {
        const updated = await tx`UPDATE users SET password_hash = ${passwordHash} WHERE id = ${userId}`;
        if (updated.count === 0) return [];
        return revokeSessionsOf(tx, userId, at);
      }),
    );
  }

  revokeUserSessions(userId: string, at: number): Promise<string[]> {
    return this.guard(() => revokeSessionsOf(this.pool.sql, userId, at));
  }

  /** Contacts through the caller's change index (keyed by user), then anyone by the word index. */
  findUsers(query: UserSearchQuery): Promise<UserCandidate[]> {
    const { callerId, word, limit } = query;
    const high = prefixUpperBound(word);
    return this.guard(async () => {
      const contacts = await this.pool.sql<UserRow[]>`
        SELECT DISTINCT u.* FROM user_conversations uc
        JOIN members mine ON mine.conversation_id = uc.conversation_id AND mine.user_id = uc.user_id
          AND mine.left_seq IS NULL
        JOIN members other ON other.conversation_id = uc.conversation_id
          AND other.left_seq IS NULL AND other.user_id <> uc.user_id
        JOIN user_name_words w ON w.user_id = other.user_id AND w.word >= ${word} AND w.word < ${high}
        JOIN users u ON u.id = other.user_id
        WHERE uc.user_id = ${callerId}
        LIMIT ${limit}`;
      const others = await this.pool.sql<UserRow[]>`
        SELECT u.* FROM users u WHERE u.id IN (
          SELECT user_id FROM user_name_words WHERE word >= ${word} AND word < ${high}
          ORDER BY word LIMIT ${limit}
        ) AND u.id <> ${callerId}`;
      const known = new Set(contacts.map((u) => u.id));
      return [
        ...contacts.map((row) => ({ user: toUserRecord(row), contact: true })),
        ...others
          .filter((row) => !known.has(row.id))
          .map((row) => ({ user: toUserRecord(row), contact: false })),
      ];
    });
  }
}

async function indexName(tx: Tx, userId: string, username: string | null, displayName: string | null) {
  const words = nameWords(username, displayName);
  if (words.length === 0) return;
  await tx`
    INSERT INTO user_name_words (word, user_id)
    SELECT unnest(${words}::text[]), ${userId}`;
}

/** The revocation `resetPassword` (inside its transaction) and `revokeUserSessions` share. */
async function revokeSessionsOf(
  sql: Tx | PostgresPool['sql'],
  userId: string,
  at: number,
): Promise<string[]> {
  const revoked = await sql<{ token_hash: string }[]>`
    UPDATE sessions SET revoked_at = ${at} WHERE user_id = ${userId} AND revoked_at IS NULL
    RETURNING token_hash`;
  return revoked.map((row) => row.token_hash);
}
