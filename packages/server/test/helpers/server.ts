import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import type { ConfigInput } from '../../src/config.js';
import { type NatterSeams, startNatter } from '../../src/index.js';

/** The HS256 secret every test server is configured with. */
export const JWT_SECRET = 'natter-test-secret-0123456789abcdef';

/** Small timeouts so the suite stays fast; tests override what they need. */
export const FAST_DEFAULTS: ConfigInput = {
  pingIntervalMs: 200,
  pingTimeoutMs: 10_000,
  presenceTtlMs: 800,
  typingTtlMs: 500,
  authTimeoutMs: 2_000,
  passwordHashCost: 10,
  drainMaxDelayMs: 200,
};

export interface TestServer {
  port: number;
  httpUrl: string;
  wsUrl: string;
  dataDir: string;
  close(): Promise<void>;
  /** Closes the server and removes its data dir. Safe to call twice. */
  dispose(): Promise<void>;
}

export async function makeDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'natter-test-'));
}

/**
 * Starts an in-process server on an ephemeral port with a fresh data dir (or the one given).
 * `seams.clock` (a ManualClock) makes its timing move only when the test advances it.
 */
export async function startTestServer(
  overrides: ConfigInput = {},
  dataDir?: string,
  seams: NatterSeams = {},
): Promise<TestServer> {
  const dir = dataDir ?? (await makeDataDir());
  const natter = await startNatter(
    {
      ...FAST_DEFAULTS,
      port: 0,
      host: '127.0.0.1',
      dataDir: dir,
      jwtSecret: JWT_SECRET,
      logLevel: 'silent',
      ...overrides,
    },
    seams,
  );
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await natter.close();
  };
  return {
    port: natter.port,
    httpUrl: natter.httpUrl,
    wsUrl: natter.wsUrl,
    dataDir: dir,
    close,
    async dispose() {
      await close();
      if (dataDir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A user id no other test uses. */
export function uid(prefix = 'u'): string {
  return `${prefix}-${randomUUID().slice(0, 12)}`;
}

/** Signs an HS256 JWT whose subject is the user id. */
export async function signToken(
  userId: string,
  options: { secret?: string; expiresIn?: string | number } = {},
): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '1h')
    .sign(new TextEncoder().encode(options.secret ?? JWT_SECRET));
}

export interface HttpResult<T = unknown> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

/** A JSON HTTP call. `token` goes in `Authorization: Bearer`. */
export async function api<T = unknown>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let payload: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(options.body);
  }
  const res = await fetch(baseUrl + path, { method, headers, body: payload });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    // not JSON (metrics)
  }
  return { status: res.status, body: body as T, text, headers: res.headers };
}

/** Creates a group as `ownerId` with the given members and returns its id. */
export async function createGroup(
  baseUrl: string,
  ownerId: string,
  memberIds: string[],
  title = 'group',
): Promise<string> {
  const res = await api<{ conversation?: { conversation_id?: unknown } }>(
    baseUrl,
    'POST',
    '/v1/conversations',
    {
      token: await signToken(ownerId),
      body: { title, member_ids: memberIds },
    },
  );
  if (res.status !== 201) {
    throw new Error(`create group failed: ${res.status} ${res.text}`);
  }
  const id = res.body?.conversation?.conversation_id;
  if (typeof id !== 'string') throw new Error(`create group: no conversation id in ${res.text}`);
  return id;
}

/** The direct conversation between two users (created by `userId`), and its id. */
export async function createDirect(baseUrl: string, userId: string, peerId: string): Promise<string> {
  const res = await api<{ conversation?: { conversation_id?: string } }>(
    baseUrl,
    'POST',
    '/v1/conversations/direct',
    {
      token: await signToken(userId),
      body: { user_id: peerId },
    },
  );
  const id = res.body?.conversation?.conversation_id;
  if (typeof id !== 'string') throw new Error(`create direct failed: ${res.status} ${res.text}`);
  return id;
}

/** Polls until `condition` holds; fails after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
