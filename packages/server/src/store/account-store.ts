/** A user as the account store knows it. JWT users have no username or password. */
export interface UserRecord {
  id: string;
  username: string | null;
  displayName: string | null;
  passwordHash: string | null;
  createdAt: number;
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
}
