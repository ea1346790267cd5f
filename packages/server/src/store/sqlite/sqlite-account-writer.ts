import { NatterError } from '@natter/protocol';
import type Database from 'better-sqlite3';
import type { AvatarRecord, SessionRecord, UserRecord } from '../account-store.js';
import { nameWords } from '../name-words.js';

/** Account writes, run on the writer thread so that the database has exactly one writer. */
export type AccountWrite =
  | { op: 'createUser'; user: UserRecord }
  | { op: 'ensureUser'; id: string; at: number }
  | { op: 'createSession'; session: SessionRecord }
  | { op: 'revokeSession'; tokenHash: string; at: number }
  | { op: 'setDisplayName'; userId: string; displayName: string | null }
  | { op: 'setBot'; userId: string; bot: boolean }
  | { op: 'setAvatar'; userId: string; avatar: AvatarRecord | null }
  | { op: 'resetPassword'; userId: string; passwordHash: string; at: number }
  | { op: 'revokeUserSessions'; userId: string; at: number };

export class SqliteAccountWriter {
  private readonly sql;

  constructor(private readonly db: Database.Database) {
    this.sql = {
      insertUser: db.prepare(
        `INSERT INTO users (id, username, display_name, password_hash, created_at, avatar_tag)
         VALUES (@id, @username, @displayName, @passwordHash, @createdAt, @avatarTag)`,
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
      user: db.prepare<[string], { username: string | null }>(`SELECT username FROM users WHERE id = ?`),
      setDisplayName: db.prepare<[string | null, string]>(`UPDATE users SET display_name = ? WHERE id = ?`),
      setBot: db.prepare<[number, string]>(`UPDATE users SET bot = ? WHERE id = ?`),
      dropWords: db.prepare<[string]>(`DELETE FROM user_name_words WHERE user_id = ?`),
      insertWord: db.prepare<[string, string]>(`INSERT INTO user_name_words (word, user_id) VALUES (?, ?)`),
      setAvatarTag: db.prepare<[string | null, string]>(`UPDATE users SET avatar_tag = ? WHERE id = ?`),
      putAvatar: db.prepare<[string, string, Buffer]>(
        `INSERT INTO avatars (user_id, content_type, bytes) VALUES (?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET content_type = excluded.content_type, bytes = excluded.bytes`,
      ),
      dropAvatar: db.prepare<[string]>(`DELETE FROM avatars WHERE user_id = ?`),
      setPassword: db.prepare<[string, string]>(`UPDATE users SET password_hash = ? WHERE id = ?`),
      revokeAll: db.prepare<[number, string], { token_hash: string }>(
        `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL RETURNING token_hash`,
      ),
    };
  }

  /**
   * Each write in a transaction of its own. Throws `username_taken` for a duplicate
   * (case-insensitive) username. Returns how many rows the write changed where that is its answer,
   * and the keys of the sessions it revoked for the writes that revoke a user's sessions.
   */
  apply(write: AccountWrite): number | string[] {
    return this.db.transaction(() => this.applyInTransaction(write))();
  }

  private applyInTransaction(write: AccountWrite): number | string[] {
    switch (write.op) {
      case 'createUser':
        try {
          this.sql.insertUser.run(write.user);
        } catch (error) {
          if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
            throw new NatterError('username_taken');
          throw error;
        }
        this.indexName(write.user.id, write.user.username, write.user.displayName);
        return 1;
      case 'ensureUser':
        return this.sql.ensureUser.run(write.id, write.at).changes;
      case 'createSession':
        return this.sql.insertSession.run(write.session).changes;
      case 'revokeSession':
        return this.sql.revoke.run(write.at, write.tokenHash).changes;
      case 'setBot':
        return this.sql.setBot.run(write.bot ? 1 : 0, write.userId).changes;
      case 'setDisplayName': {
        const user = this.sql.user.get(write.userId);
        if (!user) return 0;
        this.sql.setDisplayName.run(write.displayName, write.userId);
        this.sql.dropWords.run(write.userId);
        this.indexName(write.userId, user.username, write.displayName);
        return 1;
      }
      case 'setAvatar': {
        const { avatar, userId } = write;
        const changed = this.sql.setAvatarTag.run(avatar?.tag ?? null, userId).changes;
        if (changed === 0) return 0;
        // Structured cloning from the main thread turned the Buffer into a plain Uint8Array.
        if (avatar)
          this.sql.putAvatar.run(
            userId,
            avatar.contentType,
            Buffer.from(avatar.bytes.buffer, avatar.bytes.byteOffset, avatar.bytes.byteLength),
          );
        else this.sql.dropAvatar.run(userId);
        return 1;
      }
      case 'resetPassword':
        if (this.sql.setPassword.run(write.passwordHash, write.userId).changes === 0) return [];
        return this.revokeAll(write.userId, write.at);
      case 'revokeUserSessions':
        return this.revokeAll(write.userId, write.at);
    }
  }

  private revokeAll(userId: string, at: number): string[] {
    return this.sql.revokeAll.all(at, userId).map((row) => row.token_hash);
  }

  private indexName(userId: string, username: string | null, displayName: string | null): void {
    for (const word of nameWords(username, displayName)) this.sql.insertWord.run(word, userId);
  }
}
