import { type ChatEvent, type ConversationSummary, NatterError } from '@natter/protocol';
import type { SyncPage } from './log-store.js';

/** A sync page stops adding conversations once its events pass this many (approximate) bytes. */
export const SYNC_PAGE_BYTES = 1024 * 1024;
/** What an event is reckoned to weigh besides its body. */
export const EVENT_OVERHEAD_BYTES = 250;

/**
 * Refuses (`bad_request`) a sync from positions beyond `storePosition`, the store's newest: such a
 * token comes from a restored or replaced database, and the client must start over.
 */
export function checkSyncToken(after: number, eventsSince: number, storePosition: number): void {
  if (after > storePosition || eventsSince > storePosition) {
    throw new NatterError(
      'bad_request',
      'This token is ahead of the server (was the database restored?): sync without a token to start over.',
    );
  }
}

/** A member's view of a conversation that changed, at the position where it last changed. */
export interface ChangedView {
  conversation_id: string;
  view_pos: number;
}

export interface SyncPageRequest {
  after: number;
  limit: number;
  eventsPerConversation: number;
}

/**
 * Assembles one LogStore.syncSince page, and does no I/O, so a synchronous and an asynchronous
 * reader drive it alike. Give it the user's views changed after `after`, oldest change first, read
 * with `limit + 1` rows so it can tell whether more follow. For each view `viewsThatFit` yields,
 * read its summary and (when `eventsToRead` > 0) its first `eventsToRead` events since the client's
 * token, and `add` them before taking the next. The page ends at `limit` conversations, or once its
 * events pass SYNC_PAGE_BYTES, so that a resume answer (held in memory until sent) stays bounded
 * however much changed; a conversation with more than `eventsPerConversation` new events is listed
 * as truncated, keeping only the first of them.
 */
export class SyncPageAssembler<View extends ChangedView> {
  /** Events to read per conversation: one beyond the page's share shows truncation; 0 reads none. */
  readonly eventsToRead: number;
  private readonly conversations: ConversationSummary[] = [];
  private readonly events: ChatEvent[] = [];
  private readonly truncated: string[] = [];
  private readonly hidden: string[] = [];
  private bytes = 0;
  private included = 0;

  constructor(
    private readonly views: readonly View[],
    private readonly request: SyncPageRequest,
  ) {
    this.eventsToRead = request.eventsPerConversation === 0 ? 0 : request.eventsPerConversation + 1;
  }

  /** The views to read, one at a time: the budget is checked again after each `add`. */
  *viewsThatFit(): Generator<View, void, undefined> {
    for (const view of this.views) {
      if (this.included === this.request.limit || this.bytes > SYNC_PAGE_BYTES) return;
      this.included += 1;
      yield view;
    }
  }

  /** The summary of the view last yielded and its events, ascending (at most `eventsToRead`). */
  add(summary: ConversationSummary, events: ChatEvent[]): void {
    this.conversations.push(summary);
    const kept = events.slice(0, this.request.eventsPerConversation);
    if (kept.length < events.length) this.truncated.push(summary.conversation_id);
    for (const event of kept) {
      this.bytes += EVENT_OVERHEAD_BYTES + (event.body?.length ?? 0);
      this.events.push(event);
    }
  }

  /**
   * The view last yielded is one the user hid: it gets no summary. A resume (`after` > 0) names it
   * in the page's `hidden`, so a client holding it drops it; a listing leaves it out.
   */
  hide(conversationId: string): void {
    if (this.request.after > 0) this.hidden.push(conversationId);
  }

  /** True when changed views remain beyond this page: the client asks again from its position. */
  get hasMore(): boolean {
    return this.views.length > this.included;
  }

  /**
   * The page. Its position is the last included view's when more follow, else the user's change
   * token position (`latestPosition`, LogStore.latestPosition) but never below `after`; pass null
   * for it only when `hasMore`, so a reader need not look it up then.
   */
  finish(latestPosition: number | null): SyncPage {
    const { conversations, events, truncated, hidden, hasMore } = this;
    let position: number;
    if (hasMore) position = this.views[this.included - 1]!.view_pos;
    else if (latestPosition === null) throw new Error('A last sync page needs the latest position.');
    else position = Math.max(this.request.after, latestPosition);
    return { conversations, events, truncated, hidden, position, hasMore };
  }
}
