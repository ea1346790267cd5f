/** A user as the account store knows it. JWT users have no username or password. */
export interface UserRecord {
  id: string;
  username: string | null;
  displayName: string | null;
  passwordHash: string | null;
  createdAt: number;
  /** The version of the user's avatar (a hash of its bytes), null when they have none. */
  avatarTag: string | null;
  /** An automated sender a product's backend created (the server API), shown as a bot. */
  bot: boolean;
}

/** A user's avatar image: its bytes, the type sniffed from them, and its version. */
export interface AvatarRecord {
  contentType: string;
  bytes: Uint8Array;
  tag: string;
}

/**
 * A user search as the store runs it: users other than the caller with a name word (see
 * `nameWords`) that starts with `word`. `limit` bounds each of the two groups of the answer.
 */
export interface UserSearchQuery {
  callerId: string;
  word: string;
  limit: number;
}

/** A user a search found; `contact`: they are in a conversation the caller is in now. */
export interface UserCandidate {
  user: UserRecord;
  contact: boolean;
}

export interface SessionRecord {
  tokenHash: string;
  userId: string;
  expiresAt: number;
  revokedAt: number | null;
}

/**
 * Users and built-in sessions. Writes are durable when the promise resolves.
 * `createUser` rejects with `username_taken` when the (case-insensitive) username exists.
 * `ensureUser` creates a bare user row for an id first seen in a trusted JWT; it is idempotent.
 */
export interface AccountStore {
  createUser(user: UserRecord): Promise<void>;
  ensureUser(id: string): Promise<void>;
  userById(id: string): Promise<UserRecord | null>;
  userByUsername(username: string): Promise<UserRecord | null>;
  createSession(session: SessionRecord): Promise<void>;
  sessionByTokenHash(tokenHash: string): Promise<SessionRecord | null>;
  revokeSession(tokenHash: string, at: number): Promise<void>;
  /** Sets (null clears) the display name and re-indexes the user's name words; an unknown id is a no-op. */
  setDisplayName(userId: string, displayName: string | null): Promise<void>;
  /** Stores the avatar (null removes it) and its tag on the user; an unknown id is a no-op. */
  setAvatar(userId: string, avatar: AvatarRecord | null): Promise<void>;
  avatar(userId: string): Promise<AvatarRecord | null>;
  /** Marks (or unmarks) the user as a bot; an unknown id is a no-op. */
  setBot(userId: string, bot: boolean): Promise<void>;
  /**
   * Sets a new password hash and revokes every session of the user not yet revoked, in one
   * transaction. Resolves with the keys (token hashes) of the sessions it revoked.
   */
  resetPassword(userId: string, passwordHash: string, at: number): Promise<string[]>;
  /**
   * Revokes every session of the user not yet revoked. Resolves with the keys (token hashes) of
   * those it revoked (none: no live session, or no such user).
   */
  revokeUserSessions(userId: string, at: number): Promise<string[]>;
  /**
   * Users with a name word starting with `query.word`: every such contact (up to `limit`), and
   * up to `limit` others, in no promised order; the caller is never among them. Reads an index:
   * its cost grows with the caller's contacts and `limit`, not with the directory.
   */
  findUsers(query: UserSearchQuery): Promise<UserCandidate[]>;
}
