import type { ChatEvent } from '@natter/protocol';
import type { Logger } from 'pino';
import type { LogStore, MemberSpan } from '../store/log-store.js';

interface Entry {
  spans: Map<string, MemberSpan>;
  /** Membership is known exactly for every seq up to here. */
  throughSeq: number;
}

const MAX_ENTRIES = 100_000;

/**
 * Who may receive each event, kept in memory per conversation. It learns membership from the
 * events it is shown (in seq order); when it sees a gap (an event it missed, say on a lossy bus)
 * it reloads from the store, whose snapshot is at least as new as the event. Because each member
 * carries the range of seqs they may see, a newer snapshot still answers an older event correctly.
 */
export class MemberDirectory {
  private readonly entries = new Map<string, Entry>();
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    private readonly store: LogStore,
    private readonly log: Logger,
    /**
     * Other nodes commit to this log too (a cluster). Routing stays exact anyway: an event committed
     * elsewhere leaves a gap in the seqs this node routes, and the gap reloads. But nothing tells
     * this node of a removal committed elsewhere until it routes a later event of that
     * conversation, so `currentMembers` cannot trust its cache and reads the store.
     */
    private readonly sharedLog = false,
  ) {}

  /**
   * Calls `deliver` with the recipients of each event (their spans: what else they may see varies
   * with when they joined), in seq order per conversation. Synchronous when membership is known;
   * otherwise queued behind a load, still in order.
   */
  route(event: ChatEvent, deliver: (recipients: MemberSpan[]) => void): void {
    const id = event.conversation_id;
    const chain = this.chains.get(id);
    const entry = this.entries.get(id);
    if (!chain && entry && event.seq <= entry.throughSeq + 1) {
      deliver(this.observe(entry, event));
      return;
    }
    const next = (chain ?? Promise.resolve())
      .then(async () => {
        let current = this.entries.get(id);
        if (!current || event.seq > current.throughSeq + 1) current = await this.load(id);
        deliver(this.observe(current, event));
      })
      // A failed load loses this live delivery only: clients heal from the log on the next heartbeat.
      .catch((error: unknown) => this.log.error({ err: error, conversation: id }, 'fan-out failed'))
      .finally(() => {
        if (this.chains.get(id) === next) this.chains.delete(id);
      });
    this.chains.set(id, next);
  }

  /**
   * Current members (for receipts and typing), as of no earlier than this call: from the cache
   * when this node is the log's only writer, from the store when it shares the log.
   */
  async currentMembers(conversationId: string): Promise<string[]> {
    const cached = this.sharedLog ? undefined : this.entries.get(conversationId);
    const entry = cached ?? (await this.load(conversationId));
    const members: string[] = [];
    for (const span of entry.spans.values()) if (span.leftSeq === null) members.push(span.userId);
    return members;
  }

  /** Runs `use` with the current members; a failure to load them is logged, not thrown. */
  withCurrentMembers(conversationId: string, use: (members: string[]) => void): void {
    this.currentMembers(conversationId).then(use, (error: unknown) =>
      this.log.error({ err: error, conversation: conversationId }, 'membership load failed'),
    );
  }

  private observe(entry: Entry, event: ChatEvent): MemberSpan[] {
    if (event.seq === entry.throughSeq + 1) {
      applyMembership(entry, event);
      entry.throughSeq = event.seq;
    }
    const recipients: MemberSpan[] = [];
    for (const span of entry.spans.values()) {
      if (span.joinedSeq <= event.seq && (span.leftSeq === null || event.seq <= span.leftSeq)) {
        recipients.push(span);
      }
    }
    return recipients;
  }

  private async load(conversationId: string): Promise<Entry> {
    const { spans, lastSeq } = await this.store.memberSpans(conversationId);
    const entry: Entry = { spans: new Map(spans.map((s) => [s.userId, s])), throughSeq: lastSeq };
    const existing = this.entries.get(conversationId);
    if (existing && existing.throughSeq > lastSeq) return existing;
    // Unknown conversations are not cached: ids a client makes up must not crowd out real entries.
    if (lastSeq === 0) return entry;
    this.entries.delete(conversationId);
    this.entries.set(conversationId, entry);
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    return entry;
  }
}

function applyMembership(entry: Entry, event: ChatEvent): void {
  const data = event.data;
  switch (event.kind) {
    case 'created':
      for (const userId of data?.member_ids ?? []) {
        entry.spans.set(userId, { userId, joinedSeq: event.seq, leftSeq: null });
      }
      break;
    case 'member_added':
      if (data?.user_id) {
        entry.spans.set(data.user_id, { userId: data.user_id, joinedSeq: event.seq, leftSeq: null });
      }
      break;
    case 'member_removed':
    case 'member_left': {
      const span = data?.user_id ? entry.spans.get(data.user_id) : undefined;
      if (span) span.leftSeq = event.seq;
      break;
    }
    default:
      break;
  }
}
