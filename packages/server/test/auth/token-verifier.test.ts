import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatterError } from '@natter/protocol';
import { exportJWK, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JwtOptions, TokenVerifier } from '../../src/auth/token-verifier.js';
import { createLogger } from '../../src/log.js';
import type { AccountStore } from '../../src/store/account-store.js';
import { openSqliteStores, type SqliteStores } from '../../src/store/sqlite/sqlite-stores.js';

let dir: string;
let stores: SqliteStores;
let accounts: AccountStore;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'natter-auth-'));
  stores = openSqliteStores(dir, createLogger('silent'));
  accounts = stores.accountStore;
});

afterAll(async () => {
  await stores.close();
  await rm(dir, { recursive: true, force: true });
});

function sign(key: Parameters<SignJWT['sign']>[0], alg: string, claims: JWTPayload = {}, kid?: string) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg, ...(kid ? { kid } : {}) })
    .setSubject('user-42')
    .setExpirationTime('5m')
    .sign(key);
}

async function rejection(verifier: TokenVerifier, token: string): Promise<string> {
  const error = await verifier.verify(token).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NatterError);
  return (error as NatterError).code;
}

describe('TokenVerifier: app-signed JWTs', () => {
  const secret = 'a-shared-secret-of-some-length';

  it('accepts HS256 with the shared secret', async () => {
    const verifier = new TokenVerifier(accounts, { secret });
    const identity = await verifier.verify(await sign(new TextEncoder().encode(secret), 'HS256'));
    expect(identity.userId).toBe('user-42');
    expect(identity.expiresAt).toBeGreaterThan(Date.now());
  });

  it('rejects a wrong secret, an expired token, a missing exp and alg=none', async () => {
    const verifier = new TokenVerifier(accounts, { secret });
    const key = new TextEncoder().encode(secret);
    expect(
      await rejection(verifier, await sign(new TextEncoder().encode('another-secret-entirely!'), 'HS256')),
    ).toBe('auth_failed');
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(key);
    expect(await rejection(verifier, expired)).toBe('token_expired');
    const noExp = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('u').sign(key);
    expect(await rejection(verifier, noExp)).toBe('auth_failed');
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ sub: 'u', exp: 9e9 })).toString('base64url');
    expect(await rejection(verifier, `${header}.${body}.`)).toBe('auth_failed');
  });

  it('checks issuer and audience when configured', async () => {
    const options: JwtOptions = { secret, issuer: 'https://app.example', audience: 'natter' };
    const verifier = new TokenVerifier(accounts, options);
    const key = new TextEncoder().encode(secret);
    expect(await rejection(verifier, await sign(key, 'HS256'))).toBe('auth_failed');
    const good = await sign(key, 'HS256', { iss: 'https://app.example', aud: 'natter' });
    expect((await verifier.verify(good)).userId).toBe('user-42');
  });

  it('accepts RS256 and EdDSA with a PEM public key, and refuses an HS256 token forged with it', async () => {
    for (const type of ['rsa', 'ed25519'] as const) {
      const pair =
        type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
      const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const verifier = new TokenVerifier(accounts, { publicKey: pem });
      const token = await sign(pair.privateKey, type === 'rsa' ? 'RS256' : 'EdDSA');
      expect((await verifier.verify(token)).userId).toBe('user-42');
      expect(await rejection(verifier, await sign(new TextEncoder().encode(pem), 'HS256'))).toBe(
        'auth_failed',
      );
    }
  });

  it('accepts tokens whose key is in a JWKS file, chosen by kid', async () => {
    const one = generateKeyPairSync('ed25519');
    const two = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwks = {
      keys: [
        { ...(await exportJWK(one.publicKey)), kid: 'one', alg: 'EdDSA' },
        { ...(await exportJWK(two.publicKey)), kid: 'two', alg: 'RS256' },
      ],
    };
    const file = join(dir, 'jwks.json');
    await writeFile(file, JSON.stringify(jwks));
    const verifier = new TokenVerifier(accounts, { jwksFile: file });
    expect((await verifier.verify(await sign(one.privateKey, 'EdDSA', {}, 'one'))).userId).toBe('user-42');
    expect((await verifier.verify(await sign(two.privateKey, 'RS256', {}, 'two'))).userId).toBe('user-42');
    const stranger = generateKeyPairSync('ed25519');
    expect(await rejection(verifier, await sign(stranger.privateKey, 'EdDSA', {}, 'one'))).toBe(
      'auth_failed',
    );
  });

  it('refuses JWTs when none is configured, and unknown session tokens', async () => {
    const verifier = new TokenVerifier(accounts, {});
    expect(await rejection(verifier, await sign(new TextEncoder().encode(secret), 'HS256'))).toBe(
      'auth_failed',
    );
    expect(await rejection(verifier, 'nt_not-a-real-session')).toBe('auth_failed');
  });
});
