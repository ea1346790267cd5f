import type Database from 'better-sqlite3';
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
import { prefixUpperBound } from '../name-words.js';
import type { SqliteWriterClient } from './sqlite-writer-client.js';

interface SearchParams {
  callerId: string;
  low: string;
  high: string;
  limit: number;
}

interface AvatarRow {
  content_type: string;
  bytes: Buffer;
  avatar_tag: string;
}

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
      avatar: db.prepare<[string], AvatarRow>(
        `SELECT a.content_type, a.bytes, u.avatar_tag FROM avatars a JOIN users u ON u.id = a.user_id
         WHERE a.user_id = ?`,
      ),
      // The caller's current conversations, their current other members, those members' words in
      // the range: bounded by the caller's contacts.
      contacts: db.prepare<SearchParams, UserRow>(
        `SELECT DISTINCT u.* FROM members mine
         JOIN members other ON other.conversation_id = mine.conversation_id
           AND other.left_seq IS NULL AND other.user_id != mine.user_id
         JOIN user_name_words w ON w.user_id = other.user_id AND w.word >= @low AND w.word < @high
         JOIN users u ON u.id = other.user_id
         WHERE mine.user_id = @callerId AND mine.left_seq IS NULL
         LIMIT @limit`,
      ),
      others: db.prepare<SearchParams, UserRow>(
        `SELECT u.* FROM users u WHERE u.id IN (
           SELECT user_id FROM user_name_words WHERE word >= @low AND word < @high ORDER BY word LIMIT @limit
         ) AND u.id != @callerId`,
      ),
    };
  }

  async createUser(user: UserRecord): Promise<void> {
    await this.writer.account({ op: 'createUser', user });
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

  async createSession(session: SessionRecord): Promise<void> {
    await this.writer.account({ op: 'createSession', session });
  }

  async sessionByTokenHash(tokenHash: string): Promise<SessionRecord | null> {
    const row = this.sql.session.get(tokenHash);
    return row ? toSessionRecord(row) : null;
  }

  async revokeSession(tokenHash: string, at: number): Promise<void> {
    await this.writer.account({ op: 'revokeSession', tokenHash, at });
  }

  async setBot(userId: string, bot: boolean): Promise<void> {
    await this.writer.account({ op: 'setBot', userId, bot });
  }

  async setDisplayName(userId: string, displayName: string | null): Promise<void> {
    await this.writer.account({ op: 'setDisplayName', userId, displayName });
  }

  async setAvatar(userId: string, avatar: AvatarRecord | null): Promise<void> {
    await this.writer.account({ op: 'setAvatar', userId, avatar });
  }

  async avatar(userId: string): Promise<AvatarRecord | null> {
    const row = this.sql.avatar.get(userId);
    return row ? { contentType: row.content_type, bytes: row.bytes, tag: row.avatar_tag } : null;
  }

  resetPassword(userId: string, passwordHash: string, at: number): Promise<string[]> {
    return this.writer.revokeSessions({ op: 'resetPassword', userId, passwordHash, at });
  }

  revokeUserSessions(userId: string, at: number): Promise<string[]> {
    return this.writer.revokeSessions({ op: 'revokeUserSessions', userId, at });
  }

  async findUsers(query: UserSearchQuery): Promise<UserCandidate[]> {
    const params: SearchParams = {
      callerId: query.callerId,
      low: query.word,
      high: prefixUpperBound(query.word),
      limit: query.limit,
    };
    const contacts = this.sql.contacts.all(params).map(toUserRecord);
    const known = new Set(contacts.map((u) => u.id));
    return [
      ...contacts.map((user) => ({ user, contact: true })),
      ...this.sql.others
        .all(params)
        .filter((row) => !known.has(row.id))
        .map((row) => ({ user: toUserRecord(row), contact: false })),
    ];
  }
}
