import type { ChatEvent } from '@natter/protocol';
import type { Logger } from 'pino';
import type { Committed } from '../chat/group-commit.js';
import type { Clock, Timer } from '../clock.js';
import type { Metrics } from '../metrics.js';
import { SerialRuns } from '../serial-runs.js';
import type { AccountStore } from '../store/account-store.js';
import type { LogStore } from '../store/log-store.js';
import type { PushMessage, PushProvider, PushProviderName } from './push-provider.js';
import type { PushJob, PushStore } from './push-store.js';

export interface PushSettings {
  /** Put the message's text in the push (off: "New message from ‹sender›" only). */
  previews: boolean;
  /** How long a conversation's first push waits for more messages to fold into it. */
  coalesceMs: number;
  /** A push not delivered within this long is dropped. */
  ttlMs: number;
}

export interface PushNotifierDeps {
  store: PushStore;
  logStore: LogStore;
  accounts: AccountStore;
  providers: ReadonlyMap<PushProviderName, PushProvider>;
  /**
   * Whether a device is live on a socket on any node (a live socket gets every event of its
   * user): the device's registering session has a connection open, or, for a device registered
   * without one (`sessionKey` null), any connection of the user is open.
   */
  isLive(userId: string, sessionKey: string | null): Promise<boolean>;
  settings: PushSettings;
  metrics: Metrics;
  log: Logger;
  clock: Clock;
}

/** How often the queue is looked at for retries, leases run out, and jobs left by a restart. */
const POLL_MS = 1_000;
/** A claimed job not settled within this long is due again (the node died mid-delivery). */
const LEASE_MS = 60_000;
const CLAIM_BATCH = 100;
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_MAX_MS = 10 * 60_000;
const PREVIEW_CHARS = 120;
const BADGE_PAGE = 500;

/**
 * Push notifications: a wake-up, not the content. After a message commits, each member who is not
 * live on a socket, whose notification level lets it through (`none`: never; `mentions`: only when
 * the message mentions them or `@all` / `@here`), gets a job per registered device in the durable
 * queue, coalesced per conversation. Delivery claims due jobs, checks again that the user is still
 * offline and has not read the conversation elsewhere meanwhile, puts the user's unread total (as
 * sync counts it) in the badge, and retries transient failures with exponential backoff until the
 * job expires. A token the service says is gone is forgotten.
 */
export class PushNotifier {
  private poll: Timer | undefined;
  private readonly runs = new SerialRuns(
    () => this.dispatch(),
    (error: unknown) => this.deps.log.warn({ err: error }, 'push dispatch failed; retrying'),
  );
  private closed = false;
  /** Jobs being queued: a drain waits for them, so a push committed before shutdown survives it. */
  private readonly enqueuing = new Set<Promise<void>>();

  constructor(private readonly deps: PushNotifierDeps) {}

  start(): void {
    this.poll = this.deps.clock.every(POLL_MS, () => this.dispatchSoon());
    this.dispatchSoon();
  }

  /** From the group committer, after commit: queues the pushes the new messages call for. */
  committed(committed: Committed[]): void {
    // No provider on (the embedded default): the send path does no push work at all.
    if (this.deps.providers.size === 0) return;
    for (const { result } of committed) {
      // A channel sends no pushes: a wake-up per post to every offline member is what its fan-out
      // on read avoids (docs/protocol.md §10.19).
      if (!result.ok || result.value.duplicate || result.value.channel) continue;
      for (const event of result.value.events) {
        if (event.kind !== 'message') continue;
        const queued = this.enqueueFor(event)
          .catch((error: unknown) =>
            this.deps.log.warn(
              { err: error, conversationId: event.conversation_id },
              'could not queue pushes',
            ),
          )
          .finally(() => this.enqueuing.delete(queued));
        this.enqueuing.add(queued);
      }
    }
  }

  /** After the committer drained: finishes queueing, stops dispatching (queued jobs stay queued). */
  async close(): Promise<void> {
    await Promise.all(this.enqueuing);
    this.closed = true;
    this.poll?.cancel();
    await this.runs.stop();
  }

  private async enqueueFor(event: ChatEvent): Promise<void> {
    const { store, logStore, clock, settings } = this.deps;
    const { spans } = await logStore.memberSpans(event.conversation_id);
    const message = await this.messageOf(event);
    const now = clock.now();
    for (const { userId, leftSeq } of spans) {
      if (leftSeq !== null || userId === event.sender_id) continue;
      // Devices first: most members have none, and then their settings need not be read.
      const devices = [];
      for (const device of await store.devicesOf(userId)) {
        if (!this.deps.providers.has(device.provider)) continue;
        // A device live on a socket has the event already; the user's other devices may not.
        if (!(await this.deps.isLive(userId, device.sessionKey))) devices.push(device);
      }
      if (devices.length === 0 || !(await this.wantsPush(userId, event))) continue;
      for (const device of devices) {
        await store.enqueue({
          token: device.token,
          conversationId: event.conversation_id,
          message,
          dueAt: now + settings.coalesceMs,
          expiresAt: now + settings.ttlMs,
        });
      }
    }
    this.deps.clock.after(settings.coalesceMs, () => this.dispatchSoon());
  }

  private async wantsPush(userId: string, event: ChatEvent): Promise<boolean> {
    const summary = await this.deps.logStore.conversationFor(userId, event.conversation_id);
    if (!summary || summary.notifications === 'none') return false;
    if (summary.notifications === 'all') return true;
    const mentions = event.data?.mentions ?? [];
    return mentions.includes(userId) || mentions.includes('@all') || mentions.includes('@here');
  }

  private async messageOf(event: ChatEvent): Promise<PushMessage> {
    const sender = await this.deps.accounts.userById(event.sender_id);
    const name = sender?.displayName ?? sender?.username ?? event.sender_id;
    const text = event.body ?? '';
    const body =
      this.deps.settings.previews && text !== ''
        ? `${name}: ${text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 1)}…` : text}`
        : `New message from ${name}`;
    // The badge is filled in at delivery, when it is current.
    return { title: 'Natter', body, conversationId: event.conversation_id, badge: 0 };
  }

  /** One dispatch at a time; a request meanwhile runs one more after it. */
  private dispatchSoon(): void {
    if (!this.closed) this.runs.request();
  }

  private async dispatch(): Promise<void> {
    const { store, clock, metrics } = this.deps;
    const dropped = await store.dropExpired(clock.now());
    if (dropped > 0) metrics.pushes.inc({ provider: 'any', outcome: 'dropped' }, dropped);
    for (;;) {
      const jobs = await store.claimDue(clock.now(), LEASE_MS, CLAIM_BATCH);
      for (const job of jobs) await this.deliver(job);
      if (jobs.length < CLAIM_BATCH || this.closed) return;
    }
  }

  private async deliver(job: PushJob): Promise<void> {
    const { store, clock, metrics, log } = this.deps;
    const provider = this.deps.providers.get(job.provider);
    const badge = provider ? await this.unreadOf(job.userId, job.conversationId) : null;
    if (!provider || badge === null || (await this.deps.isLive(job.userId, job.sessionKey))) {
      // Online again, read elsewhere, or the provider was turned off: nothing to wake.
      await store.settle(job.token, job.conversationId, job.version, clock.now());
      metrics.pushes.inc({ provider: job.provider, outcome: 'dropped' });
      return;
    }
    const outcome = await provider.send(job, { ...job.message, badge });
    if (outcome.status === 'sent') {
      await store.settle(job.token, job.conversationId, job.version, clock.now());
      metrics.pushes.inc({ provider: job.provider, outcome: 'sent' });
    } else if (outcome.status === 'gone') {
      await store.removeDevice(job.token);
      metrics.pushes.inc({ provider: job.provider, outcome: 'dropped' });
      log.info({ provider: job.provider, detail: outcome.detail }, 'push token gone; device forgotten');
    } else {
      const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** job.attempts);
      await store.retryAt(job.token, job.conversationId, clock.now() + backoff);
      metrics.pushes.inc({ provider: job.provider, outcome: 'failed' });
      log.warn(
        { provider: job.provider, detail: outcome.detail, attempts: job.attempts + 1 },
        'push failed; retrying',
      );
    }
  }

  /**
   * The user's unread total, from the same summaries sync answers (so every badge agrees), or null
   * when the conversation has nothing unread for them any more.
   */
  private async unreadOf(userId: string, conversationId: string): Promise<number | null> {
    let total = 0;
    let unreadHere = 0;
    let after = 0;
    for (;;) {
      const page = await this.deps.logStore.syncSince(userId, after, 0, BADGE_PAGE, 0);
      for (const summary of page.conversations) {
        if (summary.left_seq !== null) continue;
        total += summary.unread;
        if (summary.conversation_id === conversationId) unreadHere = summary.unread;
      }
      if (!page.hasMore) break;
      after = page.position;
    }
    return unreadHere === 0 ? null : total;
  }
}
