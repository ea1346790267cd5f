import { createHash, createPublicKey, type KeyObject, webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { NatterError } from '@natter/protocol';
import { createLocalJWKSet, type JWTVerifyGetKey, errors as joseErrors, jwtVerify } from 'jose';
import type { AccountStore } from '../store/account-store.js';

/** Who a token speaks for, and until when. `sessionKey` names the token for revocation. */
export interface Identity {
  userId: string;
  sessionKey: string;
  expiresAt: number | null;
}

export interface JwtOptions {
  secret?: string | undefined;
  publicKey?: string | undefined;
  jwksFile?: string | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
}

const SESSION_PREFIX = 'nt_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

export function isSessionToken(token: string): boolean {
  return token.startsWith(SESSION_PREFIX);
}

export function sessionTokenPrefix(): string {
  return SESSION_PREFIX;
}

/**
 * Verifies the two kinds of token: built-in session tokens (`nt_...`, looked up by hash, revocable)
 * and JWTs signed by the app's own backend (HS256 with a shared secret; RS256, ES256 or EdDSA with a
 * public key or a JWKS file). A JWT's `sub` is the user id and `exp` is required. Verifying a JWT
 * writes nothing: the app owns its user ids, and rows for them appear when conversations name them.
 */
export class TokenVerifier {
  /**
   * An HS256 secret is imported once, as a CryptoKey: given the raw bytes, jose imports them again
   * on every verification, which took about three times the CPU of the verification itself (a
   * reconnect storm verifies a token per socket).
   */
  private readonly jwtKey: Promise<webcrypto.CryptoKey> | KeyObject | JWTVerifyGetKey | null;
  private readonly algorithms: string[];

  constructor(
    private readonly accounts: AccountStore,
    private readonly jwt: JwtOptions,
  ) {
    if (jwt.secret) {
      const raw = new TextEncoder().encode(jwt.secret);
      this.jwtKey = webcrypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, [
        'verify',
      ]);
      this.algorithms = ['HS256'];
    } else if (jwt.publicKey) {
      const pem = jwt.publicKey.includes('-----BEGIN') ? jwt.publicKey : readFileSync(jwt.publicKey, 'utf8');
      this.jwtKey = createPublicKey(pem);
      this.algorithms = ['RS256', 'ES256', 'EdDSA'];
    } else if (jwt.jwksFile) {
      this.jwtKey = createLocalJWKSet(JSON.parse(readFileSync(jwt.jwksFile, 'utf8')));
      this.algorithms = ['RS256', 'ES256', 'EdDSA'];
    } else {
      this.jwtKey = null;
      this.algorithms = [];
    }
  }

  /** True when the app signs tokens itself, so user ids come from its backend. */
  get acceptsJwt(): boolean {
    return this.jwtKey !== null;
  }

  async verify(token: string): Promise<Identity> {
    return isSessionToken(token) ? this.verifySession(token) : this.verifyJwt(token);
  }

  private async verifySession(token: string): Promise<Identity> {
    const key = hashToken(token);
    const session = await this.accounts.sessionByTokenHash(key);
    if (!session) throw new NatterError('auth_failed');
    if (session.revokedAt !== null || session.expiresAt <= Date.now()) throw new NatterError('token_expired');
    return { userId: session.userId, sessionKey: key, expiresAt: session.expiresAt };
  }

  private async verifyJwt(token: string): Promise<Identity> {
    if (!this.jwtKey) throw new NatterError('auth_failed');
    try {
      const options = {
        algorithms: this.algorithms,
        requiredClaims: ['sub', 'exp'],
        clockTolerance: 5,
        ...(this.jwt.issuer ? { issuer: this.jwt.issuer } : {}),
        ...(this.jwt.audience ? { audience: this.jwt.audience } : {}),
      };
      const key = this.jwtKey instanceof Promise ? await this.jwtKey : this.jwtKey;
      const { payload } =
        typeof key === 'function'
          ? await jwtVerify(token, key, options)
          : await jwtVerify(token, key, options);
      const userId = payload.sub!;
      if (userId.length === 0 || userId.length > 128) throw new NatterError('auth_failed', 'Bad subject.');
      return { userId, sessionKey: `jwt:${hashToken(token)}`, expiresAt: payload.exp! * 1000 };
    } catch (error) {
      if (error instanceof NatterError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new NatterError('token_expired');
      throw new NatterError('auth_failed', undefined, { cause: error });
    }
  }
}
