import { randomBytes } from 'node:crypto';
import { type LoginBody, NatterError, type RegisterBody } from '@natter/protocol';
import { ConcurrencyLimit } from '../limits/concurrency-limit.js';
import type { AccountStore, AvatarRecord, UserRecord } from '../store/account-store.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { hashToken, sessionTokenPrefix } from './token-verifier.js';

export interface AccountOptions {
  registration: 'open' | 'closed';
  sessionTtlSeconds: number;
  passwordHashCost: number;
  maxConcurrentPasswordHashes: number;
  maxQueuedPasswordHashes: number;
}

export interface IssuedSession {
  token: string;
  user_id: string;
  expires_at: number;
}

/** Built-in accounts for the embedded default: register, log in, log out. */
export class AccountService {
  private readonly revokedListeners: Array<(sessionKey: string) => void> = [];
  private decoyHash: Promise<string> | undefined;
  /** Each hash holds a libuv thread for tens of ms: a burst of logins must queue, not pile up. */
  private readonly hashing: ConcurrencyLimit;

  constructor(
    private readonly accounts: AccountStore,
    private readonly options: AccountOptions,
  ) {
    const { maxConcurrentPasswordHashes: running, maxQueuedPasswordHashes: queued } = options;
    // Until a hash has been timed: scrypt at the default cost (15) took 150 ms on a 2-core test box.
    this.hashing = new ConcurrencyLimit(running, queued, { expectedTaskMs: 150 });
  }

  async register(body: RegisterBody): Promise<UserRecord> {
    if (this.options.registration === 'closed') throw new NatterError('registration_closed');
    if (await this.accounts.userByUsername(body.username)) throw new NatterError('username_taken');
    const user: UserRecord = {
      id: `u_${randomBytes(12).toString('base64url')}`,
      username: body.username,
      displayName: body.display_name ?? null,
      passwordHash: await this.hashing.run(() => hashPassword(body.password, this.options.passwordHashCost)),
      createdAt: Date.now(),
      avatarTag: null,
      bot: false,
    };
    await this.accounts.createUser(user);
    return user;
  }

  async login(body: LoginBody): Promise<IssuedSession> {
    const user = await this.accounts.userByUsername(body.username);
    // Hash against a decoy for unknown users so timing does not reveal which usernames exist.
    const stored = user?.passwordHash ?? (await this.decoy());
    const ok = await this.hashing.run(() => verifyPassword(body.password, stored));
    if (!user?.passwordHash || !ok) throw new NatterError('invalid_credentials');
    const token = `${sessionTokenPrefix()}${randomBytes(32).toString('base64url')}`;
    const expiresAt = Date.now() + this.options.sessionTtlSeconds * 1000;
    await this.accounts.createSession({
      tokenHash: hashToken(token),
      userId: user.id,
      expiresAt,
      revokedAt: null,
    });
    return { token, user_id: user.id, expires_at: expiresAt };
  }

  /** Revokes the session; live sockets that authenticated with it are closed by the listeners. */
  async logout(sessionKey: string): Promise<void> {
    await this.accounts.revokeSession(sessionKey, Date.now());
    this.announceRevoked([sessionKey]);
  }

  private announceRevoked(sessionKeys: readonly string[]): void {
    for (const sessionKey of sessionKeys) for (const listener of this.revokedListeners) listener(sessionKey);
  }

  /**
   * An administrator's reset (`natter-admin reset-password`): a new password for a built-in
   * account, and every session of the user revoked. Resolves with how many sessions it revoked.
   * The command runs outside the server: sockets already open with a revoked session stay until
   * they next authenticate (restart the server, or use the server API's revoke, to close them).
   */
  async resetPassword(username: string, password: string): Promise<{ userId: string; revoked: number }> {
    const user = await this.accounts.userByUsername(username);
    if (!user?.passwordHash) throw new NatterError('user_not_found');
    const hash = await this.hashing.run(() => hashPassword(password, this.options.passwordHashCost));
    const revoked = await this.accounts.resetPassword(user.id, hash, Date.now());
    this.announceRevoked(revoked);
    return { userId: user.id, revoked: revoked.length };
  }

  /** Creates a bare user known by the product's own id (the server API); idempotent. */
  async ensureUser(id: string): Promise<void> {
    await this.accounts.ensureUser(id);
  }

  /**
   * Signs the user out everywhere (the server API): revokes every built-in session, so HTTP
   * requests with them get `token_expired` at once, and the listeners close the sockets opened with
   * them, on every node. Resolves with how many it revoked. JWTs are your backend's to stop issuing.
   */
  async revokeSessions(userId: string): Promise<number> {
    const revoked = await this.accounts.revokeUserSessions(userId, Date.now());
    this.announceRevoked(revoked);
    return revoked.length;
  }

  /** Marks the user as a bot (or not): others see it at their next lookup of the user. */
  async setBot(userId: string, bot: boolean): Promise<void> {
    await this.accounts.setBot(userId, bot);
  }

  /** Sets (null removes) the user's display name; others see it at their next lookup of the user. */
  async setDisplayName(userId: string, displayName: string | null): Promise<UserRecord> {
    await this.accounts.setDisplayName(userId, displayName);
    return this.existing(userId);
  }

  /** Stores (null removes) the user's avatar; its new tag is in the profile others look up. */
  async setAvatar(userId: string, avatar: AvatarRecord | null): Promise<UserRecord> {
    await this.accounts.setAvatar(userId, avatar);
    return this.existing(userId);
  }

  avatar(userId: string): Promise<AvatarRecord | null> {
    return this.accounts.avatar(userId);
  }

  user(id: string): Promise<UserRecord | null> {
    return this.accounts.userById(id);
  }

  async userIdByUsername(username: string): Promise<string | null> {
    return (await this.userByUsername(username))?.id ?? null;
  }

  userByUsername(username: string): Promise<UserRecord | null> {
    return this.accounts.userByUsername(username);
  }

  private async existing(id: string): Promise<UserRecord> {
    const user = await this.accounts.userById(id);
    if (!user) throw new NatterError('user_not_found');
    return user;
  }

  onRevoked(listener: (sessionKey: string) => void): void {
    this.revokedListeners.push(listener);
  }

  /** Computed once, outside the limit: a refusal must not be remembered as the decoy. */
  private decoy(): Promise<string> {
    this.decoyHash ??= hashPassword(randomBytes(16).toString('hex'), this.options.passwordHashCost);
    return this.decoyHash;
  }
}
