import type { SessionRecord, UserRecord } from './account-store.js';

/** The `users` and `sessions` rows as both adapters read them, and their mapping to records. */

export interface UserRow {
  id: string;
  username: string | null;
  display_name: string | null;
  password_hash: string | null;
  created_at: number;
  avatar_tag: string | null;
  /** boolean in PostgreSQL, 0 or 1 in SQLite. */
  bot: boolean | number;
}

export interface SessionRow {
  token_hash: string;
  user_id: string;
  expires_at: number;
  revoked_at: number | null;
}

export function toUserRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    passwordHash: row.password_hash,
    createdAt: row.created_at,
    avatarTag: row.avatar_tag,
    bot: Boolean(row.bot),
  };
}

export function toSessionRecord(row: SessionRow): SessionRecord {
  return {
    tokenHash: row.token_hash,
    userId: row.user_id,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

/** Bounds the memory of ids known to exist; forgetting them only costs an idempotent write each. */
const KNOWN_IDS_MAX = 100_000;

/**
 * User ids known to exist, so that `ensureUser` (run on every JWT login; users are never deleted)
 * writes only the first time an id is seen by this process.
 */
export class KnownUserIds {
  private readonly ids = new Set<string>();

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    if (this.ids.size >= KNOWN_IDS_MAX) this.ids.clear();
    this.ids.add(id);
  }
}
