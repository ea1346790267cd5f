import type { PushMessage, PushProviderName, PushTarget } from './push-provider.js';

/** A device that asked for pushes: its address at one provider, and whose it is. */
export interface PushDevice extends PushTarget {
  userId: string;
  /**
   * The session (the token's key) that registered it, when known: the device is live, and gets no
   * push, while a connection of that session is open on any node. Null: the user's liveness decides.
   */
  sessionKey: string | null;
  createdAt: number;
}

/** A push waiting in the queue: one per (device token, conversation), coalesced. */
export interface PushJob {
  token: string;
  conversationId: string;
  userId: string;
  /** The registering session of its device (see PushDevice). */
  sessionKey: string | null;
  provider: PushProviderName;
  keys: PushTarget['keys'];
  message: PushMessage;
  /** Bumped by every enqueue onto this job: `settle` with an older version keeps the newer content. */
  version: number;
  /** Failed deliveries so far (for the backoff). */
  attempts: number;
  expiresAt: number;
}

/**
 * Devices and the durable push queue, in the log store's database. Contract:
 * - Every write is durable when its promise resolves; a job survives a restart.
 * - A token belongs to one device: `registerDevice` with a known token moves it to the new user
 *   (a browser shared by two accounts) and replaces its keys. `removeDevice` also drops its jobs.
 * - `enqueue` coalesces: a job already queued for the same (token, conversation) takes the new
 *   message and expiry and a new version, and keeps its due time and attempts. A token that is not
 *   registered enqueues nothing.
 * - `claimDue` returns up to `limit` jobs due at `now` and not expired, oldest due first, and moves
 *   their due time to `now + leaseMs` in the same transaction: another node (PostgreSQL) claiming
 *   at once gets other jobs, and a node that dies mid-delivery leaves them due again after the lease.
 * - `settle` deletes a delivered job if its version is still `version`; a job enqueued onto since
 *   is made due at `now` instead, so the newer content goes out too.
 * - `retryAt` counts a failed attempt and makes the job due at `dueAt`.
 * - `dropExpired` deletes jobs whose expiry is at or before `now`, and says how many.
 */
export interface PushStore {
  registerDevice(device: PushDevice): Promise<void>;
  removeDevice(token: string): Promise<void>;
  devicesOf(userId: string): Promise<PushDevice[]>;
  enqueue(job: {
    token: string;
    conversationId: string;
    message: PushMessage;
    dueAt: number;
    expiresAt: number;
  }): Promise<void>;
  claimDue(now: number, leaseMs: number, limit: number): Promise<PushJob[]>;
  settle(token: string, conversationId: string, version: number, now: number): Promise<void>;
  retryAt(token: string, conversationId: string, dueAt: number): Promise<void>;
  dropExpired(now: number): Promise<number>;
}

/** The writes of a PushStore, as data: what the SQLite writer thread is sent. */
export type PushWrite =
  | { op: 'registerDevice'; device: PushDevice }
  | { op: 'removeDevice'; token: string }
  | { op: 'enqueue'; job: Parameters<PushStore['enqueue']>[0] }
  | { op: 'claimDue'; now: number; leaseMs: number; limit: number }
  | { op: 'settle'; token: string; conversationId: string; version: number; now: number }
  | { op: 'retryAt'; token: string; conversationId: string; dueAt: number }
  | { op: 'dropExpired'; now: number };

/** A queued job as both stores hold it: keys and message as JSON text. */
export interface PushJobRow {
  token: string;
  conversation_id: string;
  user_id: string;
  session_key: string | null;
  provider: string;
  keys: string | null;
  message: string;
  version: number | string;
  attempts: number | string;
  expires_at: number | string;
}

export interface PushDeviceRow {
  token: string;
  user_id: string;
  session_key: string | null;
  provider: string;
  keys: string | null;
  created_at: number | string;
}

export function jobOf(row: PushJobRow): PushJob {
  return {
    token: row.token,
    conversationId: row.conversation_id,
    userId: row.user_id,
    sessionKey: row.session_key,
    provider: row.provider as PushProviderName,
    keys: row.keys === null ? null : (JSON.parse(row.keys) as PushDevice['keys']),
    message: JSON.parse(row.message) as PushMessage,
    version: Number(row.version),
    attempts: Number(row.attempts),
    expiresAt: Number(row.expires_at),
  };
}

export function deviceOf(row: PushDeviceRow): PushDevice {
  return {
    token: row.token,
    userId: row.user_id,
    sessionKey: row.session_key,
    provider: row.provider as PushProviderName,
    keys: row.keys === null ? null : (JSON.parse(row.keys) as PushDevice['keys']),
    createdAt: Number(row.created_at),
  };
}
