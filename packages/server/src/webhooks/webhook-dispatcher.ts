import type { Logger } from 'pino';
import type { Clock, Timer } from '../clock.js';
import type { Metrics } from '../metrics.js';
import { SerialRuns } from '../serial-runs.js';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature.js';
import type { AttemptOutcome, ClaimedDelivery, WebhookStore } from './webhook-store.js';

export interface WebhookSettings {
  /** One attempt waits this long for the receiver's answer. */
  timeoutMs: number;
  /** A delivery still failing after this many attempts is given up (`failed`; replay sends it again). */
  maxAttempts: number;
  /** Delivered and failed deliveries (and their attempts) are kept this long for the log. */
  retentionMs: number;
}

export interface WebhookDispatcherDeps {
  store: WebhookStore;
  settings: WebhookSettings;
  metrics: Metrics;
  log: Logger;
  clock: Clock;
  fetch?: typeof globalThis.fetch;
  /** For the retry jitter; a test may fix it. */
  random?: () => number;
}

/** How often the queue is looked at: retries falling due, leases run out, other nodes' events. */
const POLL_MS = 1_000;
const PRUNE_EVERY_MS = 60 * 60_000;
const FAN_OUT_BATCH = 500;
const CLAIM_BATCH = 50;
/** Attempts under way at once, so one slow receiver cannot hold the others back for long. */
const CONCURRENCY = 8;
/** A claimed delivery not settled within this long is due again (the node died mid-attempt). */
const LEASE_MS = 5 * 60_000;
const BACKOFF_BASE_MS = 10_000;
const BACKOFF_MAX_MS = 60 * 60_000;
/** Kept of a receiver's error answer in the log. */
const ERROR_CHARS = 200;

/**
 * Delivers webhooks, at least once. Each cycle fans the log's new events out into deliveries (in
 * the store, behind its cursor), claims the due ones with a lease, and POSTs each, signed with a
 * timestamp, to its URL. A 2xx answer settles it; anything else (an error status, no answer within
 * the timeout) retries it with exponential backoff and jitter, until `maxAttempts`, then it is
 * `failed` (replay sends it again). Every attempt is logged. Any node may run a dispatcher: the
 * store hands each delivery to one claim at a time.
 */
export class WebhookDispatcher {
  private poll: Timer | undefined;
  private pruning: Timer | undefined;
  private readonly runs = new SerialRuns(
    () => this.dispatch(),
    (error: unknown) => this.deps.log.warn({ err: error }, 'webhook dispatch failed; retrying'),
  );
  private closed = false;
  /** Whether any webhook is enabled, as last read: commits nudge the dispatcher only then. */
  private active = false;

  constructor(private readonly deps: WebhookDispatcherDeps) {}

  start(): void {
    this.poll = this.deps.clock.every(POLL_MS, () => this.dispatchSoon());
    this.pruning = this.deps.clock.every(PRUNE_EVERY_MS, () => {
      const before = this.deps.clock.now() - this.deps.settings.retentionMs;
      this.deps.store
        .prune(before)
        .catch((error: unknown) => this.deps.log.warn({ err: error }, 'webhook prune failed'));
    });
    this.dispatchSoon();
  }

  /** Something was committed: deliver it now rather than at the next poll (when any webhook is on). */
  nudge(): void {
    if (this.active) this.dispatchSoon();
  }

  /** A webhook was registered or changed here: look again at once. */
  changed(): void {
    this.dispatchSoon();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.poll?.cancel();
    this.pruning?.cancel();
    await this.runs.stop();
  }

  /** One dispatch at a time; a request meanwhile runs one more after it. */
  private dispatchSoon(): void {
    if (!this.closed) this.runs.request();
  }

  private async dispatch(): Promise<void> {
    const { store, clock } = this.deps;
    this.active = (await store.webhooks()).some((w) => w.enabled);
    while ((await store.fanOut(FAN_OUT_BATCH, clock.now())) === FAN_OUT_BATCH && !this.closed);
    for (;;) {
      const due = await store.claimDue(clock.now(), LEASE_MS, CLAIM_BATCH);
      await runLimited(due, CONCURRENCY, (delivery) => this.attempt(delivery));
      if (due.length < CLAIM_BATCH || this.closed) return;
    }
  }

  private async attempt(delivery: ClaimedDelivery): Promise<void> {
    const { clock, settings, metrics, store } = this.deps;
    const fetch = this.deps.fetch ?? globalThis.fetch;
    const at = clock.now();
    const started = performance.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const response = await fetch(delivery.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Natter-Webhooks/1',
          [SIGNATURE_HEADER]: signWebhook(delivery.secret, at, delivery.payload),
          'natter-delivery-id': delivery.id,
          'natter-attempt': String(delivery.attempts),
        },
        body: delivery.payload,
        redirect: 'manual',
        signal: AbortSignal.timeout(settings.timeoutMs),
      });
      statusCode = response.status;
      const text = await response.text().catch(() => '');
      if (!response.ok) error = text.slice(0, ERROR_CHARS) || null;
    } catch (thrown) {
      error =
        (thrown as Error).name === 'TimeoutError'
          ? `no answer within ${settings.timeoutMs} ms`
          : String((thrown as Error).message ?? thrown).slice(0, ERROR_CHARS);
    }
    const ok = statusCode !== null && statusCode >= 200 && statusCode < 300;
    const outcome: AttemptOutcome = ok
      ? { status: 'delivered' }
      : delivery.attempts >= settings.maxAttempts
        ? { status: 'failed' }
        : { status: 'pending', dueAt: clock.now() + this.backoff(delivery.attempts) };
    metrics.webhooks.inc({ outcome: ok ? 'delivered' : outcome.status === 'failed' ? 'failed' : 'retried' });
    await store.recordAttempt(
      {
        deliveryId: delivery.id,
        at,
        statusCode,
        error: ok ? null : error,
        durationMs: Math.round(performance.now() - started),
      },
      outcome,
    );
  }

  /** Before attempt n + 1: 10 s doubling to at most an hour, each between half and all of it. */
  private backoff(attempts: number): number {
    const bound = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
    return Math.floor(bound * (0.5 + (this.deps.random ?? Math.random)() / 2));
  }
}

/** Runs `work` over the items, at most `limit` at once. */
async function runLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
