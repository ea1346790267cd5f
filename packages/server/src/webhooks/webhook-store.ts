import type { WebhookEventType } from '@natter/protocol';

/** A URL a product registered for some event types, with the secret its deliveries are signed with. */
export interface Webhook {
  id: string;
  url: string;
  events: WebhookEventType[];
  description: string | null;
  enabled: boolean;
  secret: string;
  createdAt: number;
  /** Only events committed after this change position are delivered (those after its creation). */
  fromPos: number;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookDelivery {
  id: string;
  webhookId: string;
  type: WebhookEventType;
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  createdAt: number;
  dueAt: number;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: number | null;
}

/** A delivery claimed for an attempt, with where it goes and how it is signed. */
export interface ClaimedDelivery {
  id: string;
  webhookId: string;
  url: string;
  secret: string;
  payload: string;
  attempts: number;
  createdAt: number;
}

/** One attempt, as the delivery log shows it. */
export interface WebhookAttempt {
  deliveryId: string;
  at: number;
  /** The receiver's HTTP status; null when no answer came (`error` says why). */
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/** What an attempt settles: delivered, tried again at `dueAt`, or given up. */
export type AttemptOutcome =
  | { status: 'delivered' }
  | { status: 'pending'; dueAt: number }
  | { status: 'failed' };

export interface WebhookPatch {
  url?: string;
  events?: WebhookEventType[];
  description?: string | null;
  enabled?: boolean;
  secret?: string;
}

/**
 * Webhooks and their durable delivery queue, in the log store's database. Contract:
 * - Every write is durable when its promise resolves.
 * - `createWebhook` records the store's change position as the webhook's `fromPos`: it is sent the
 *   events committed after it was created, none before.
 * - `fanOut` reads up to `limit` events after the store's webhook cursor in commit (position)
 *   order, adds one delivery per event and per enabled webhook subscribed to its type (with
 *   `fromPos` below the event), and moves the cursor past them, in one transaction: an event
 *   committed is fanned out exactly once, even after a crash (the cursor only moves with the
 *   deliveries it produced). Several nodes may call it at once (PostgreSQL): they take turns on
 *   the cursor. With no enabled webhook it moves the cursor to the present without reading the
 *   log. Resolves with how many events it read.
 * - `claimDue` returns up to `limit` pending deliveries due at `now` (oldest due first), counts an
 *   attempt on each and makes them due again at `now + leaseMs`, in one transaction: concurrent
 *   claims (other nodes) get other deliveries, and one a node dies delivering is retried after
 *   the lease.
 * - `recordAttempt` appends the attempt to the log and settles the delivery as the outcome says.
 * - `replay` makes a delivery of that webhook pending and due at `now` again (whatever its
 *   status); false when there is no such delivery.
 * - `prune` deletes delivered and failed deliveries created before `before`, with their attempts.
 */
export interface WebhookStore {
  createWebhook(webhook: Omit<Webhook, 'fromPos'>): Promise<Webhook>;
  webhooks(): Promise<Webhook[]>;
  webhook(id: string): Promise<Webhook | null>;
  updateWebhook(id: string, patch: WebhookPatch): Promise<Webhook | null>;
  deleteWebhook(id: string): Promise<boolean>;
  fanOut(limit: number, now: number): Promise<number>;
  claimDue(now: number, leaseMs: number, limit: number): Promise<ClaimedDelivery[]>;
  recordAttempt(attempt: WebhookAttempt, outcome: AttemptOutcome): Promise<void>;
  deliveries(webhookId: string, before: number | undefined, limit: number): Promise<WebhookDelivery[]>;
  delivery(webhookId: string, deliveryId: string): Promise<WebhookDelivery | null>;
  attempts(deliveryId: string): Promise<WebhookAttempt[]>;
  replay(webhookId: string, deliveryId: string, now: number): Promise<boolean>;
  prune(before: number): Promise<number>;
}

/** The `webhooks` row as both adapters read it. */
export interface WebhookRow {
  id: string;
  url: string;
  events: string;
  description: string | null;
  enabled: boolean | number;
  secret: string;
  created_at: number;
  from_pos: number;
}

export function webhookOf(row: WebhookRow): Webhook {
  return {
    id: row.id,
    url: row.url,
    events: row.events.split(',').filter(Boolean) as WebhookEventType[],
    description: row.description,
    enabled: Boolean(row.enabled),
    secret: row.secret,
    createdAt: Number(row.created_at),
    fromPos: Number(row.from_pos),
  };
}

export interface DeliveryRow {
  id: string;
  webhook_id: string;
  type: string;
  payload: string;
  status: string;
  attempts: number;
  created_at: number;
  due_at: number;
  last_status: number | null;
  last_error: string | null;
  delivered_at: number | null;
}

export function deliveryOf(row: DeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    type: row.type as WebhookEventType,
    payload: row.payload,
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    createdAt: Number(row.created_at),
    dueAt: Number(row.due_at),
    lastStatus: row.last_status,
    lastError: row.last_error,
    deliveredAt: row.delivered_at === null ? null : Number(row.delivered_at),
  };
}

export interface AttemptRow {
  delivery_id: string;
  at: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

export function attemptOf(row: AttemptRow): WebhookAttempt {
  return {
    deliveryId: row.delivery_id,
    at: Number(row.at),
    statusCode: row.status_code,
    error: row.error,
    durationMs: row.duration_ms,
  };
}

/** The writes of the store, as the SQLite writer thread takes them. */
export type WebhookWrite =
  | { op: 'create'; webhook: Omit<Webhook, 'fromPos'> }
  | { op: 'update'; id: string; patch: WebhookPatch }
  | { op: 'delete'; id: string }
  | { op: 'fanOut'; limit: number; now: number }
  | { op: 'claimDue'; now: number; leaseMs: number; limit: number }
  | { op: 'recordAttempt'; attempt: WebhookAttempt; outcome: AttemptOutcome }
  | { op: 'replay'; webhookId: string; deliveryId: string; now: number }
  | { op: 'prune'; before: number };

export type WebhookWriteResult = Webhook | ClaimedDelivery[] | number | boolean | null;
