import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { API_KEY_SCOPES, type ApiKeyScope, NatterError } from '@natter/protocol';

/** One configured key: its name (for logs), what it may do, and the SHA-256 of the secret. */
export interface ApiKeyEntry {
  name: string;
  scopes: ReadonlySet<ApiKeyScope>;
  hash: Buffer;
}

const KEY_PREFIX = 'nsk_';

/**
 * The server API's keys, from NATTER_SERVER_API_KEYS (`name:scope+scope:sha256hex`, comma-separated).
 * Only hashes are configured, so a leaked settings file does not leak a key; removing an entry
 * revokes the key at the next start. A bad entry fails the start with a message naming it.
 */
export class ApiKeys {
  private readonly entries: ApiKeyEntry[];

  constructor(settings: readonly string[]) {
    this.entries = settings.map(parseEntry);
  }

  /**
   * The entry the presented key matches, or `unauthenticated` (no key), `auth_failed` (unknown or
   * revoked key), `forbidden` (the key lacks `scope`). Every entry is compared in constant time.
   */
  authorize(presented: string | null, scope: ApiKeyScope): ApiKeyEntry {
    if (presented === null) throw new NatterError('unauthenticated');
    const hash = hashApiKey(presented);
    const entry = this.entries.find((candidate) => timingSafeEqual(candidate.hash, hash));
    if (!entry) throw new NatterError('auth_failed');
    if (!entry.scopes.has(scope))
      throw new NatterError('forbidden', `This API key lacks the ${scope} scope.`);
    return entry;
  }
}

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/** A new key and the settings entry that admits it (the key itself is shown once and never stored). */
export function mintApiKey(name: string, scopes: readonly string[]): { key: string; entry: string } {
  const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  const entry = `${name}:${scopes.join('+')}:${hashApiKey(key).toString('hex')}`;
  parseEntry(entry);
  return { key, entry };
}

function parseEntry(setting: string): ApiKeyEntry {
  const [name, scopeList, hex, ...rest] = setting.split(':');
  const problem = (why: string) =>
    new Error(`NATTER_SERVER_API_KEYS: the entry "${name ?? ''}" ${why} (expected name:scopes:sha256hex)`);
  if (!name || scopeList === undefined || hex === undefined || rest.length > 0) throw problem('is malformed');
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name))
    throw problem('has a name other than 1 to 64 letters, digits, . _ -');
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw problem('has a hash that is not 64 hex digits');
  const scopes = scopeList.split('+');
  const unknown = scopes.find((scope) => !(API_KEY_SCOPES as readonly string[]).includes(scope));
  if (unknown !== undefined)
    throw problem(`names an unknown scope "${unknown}" (${API_KEY_SCOPES.join(', ')})`);
  return { name, scopes: new Set(scopes as ApiKeyScope[]), hash: Buffer.from(hex, 'hex') };
}
