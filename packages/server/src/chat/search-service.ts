import { createHash } from 'node:crypto';
import { NatterError, type SearchFrame, type SearchHit } from '@natter/protocol';
import type { Clock } from '../clock.js';
import { KeyedRateLimit } from '../limits/keyed-rate-limit.js';
import { type MessageSearch, SEARCH_WINDOW } from '../store/message-search.js';
import { searchTermsOf } from './search-query.js';
import { snippetOf } from './search-snippet.js';

/** A search as both the WebSocket frame and the HTTP query string give it, validated. */
export type SearchRequest = Omit<SearchFrame, 'type' | 'id'>;

export interface SearchAnswer {
  results: SearchHit[];
  next_cursor: string | null;
}

export interface SearchLimits {
  searchesPerSecond: number;
  searchBurst: number;
  searchTimeoutMs: number;
}

const DEFAULT_LIMIT = 20;

/**
 * Message search for a user: rate-limited per user (WebSocket and HTTP share the bucket), words
 * parsed so nothing is query syntax, pages by an opaque cursor bound to the search it continues,
 * and a snippet with highlight offsets cut from each hit's current text.
 */
export class SearchService {
  private readonly perUser: KeyedRateLimit;

  constructor(
    private readonly index: MessageSearch,
    private readonly limits: SearchLimits,
    clock?: Clock,
  ) {
    this.perUser = new KeyedRateLimit(limits.searchesPerSecond, limits.searchBurst, clock ? { clock } : {});
  }

  async search(userId: string, request: SearchRequest): Promise<SearchAnswer> {
    this.perUser.take(userId);
    const terms = searchTermsOf(request.query);
    const key = searchKeyOf(userId, terms, request);
    const offset = request.cursor === undefined ? 0 : offsetOf(request.cursor, key);
    const limit = Math.min(request.limit ?? DEFAULT_LIMIT, SEARCH_WINDOW - offset);
    if (limit <= 0) return { results: [], next_cursor: null };
    const page = await this.index.search({
      userId,
      terms,
      ...(request.conversation_id === undefined ? {} : { conversationId: request.conversation_id }),
      ...(request.sender_id === undefined ? {} : { senderId: request.sender_id }),
      ...(request.after === undefined ? {} : { after: request.after }),
      ...(request.before === undefined ? {} : { before: request.before }),
      offset,
      limit,
      timeoutMs: this.limits.searchTimeoutMs,
    });
    const results = page.matches.map((m): SearchHit => {
      const snippet = snippetOf(m.body, terms);
      return {
        conversation_id: m.conversationId,
        seq: m.seq,
        sender_id: m.senderId,
        sent_at: m.sentAt,
        snippet: snippet.text,
        highlights: snippet.highlights,
        ...(m.threadRoot === null ? {} : { thread_root: m.threadRoot }),
      };
    });
    const next = offset + results.length;
    return {
      results,
      next_cursor: page.hasMore && next < SEARCH_WINDOW ? cursorOf(next, key) : null,
    };
  }
}

/** What a cursor is bound to: the user, the words and the filters (not the page size). */
function searchKeyOf(userId: string, terms: unknown, request: SearchRequest): string {
  const { conversation_id, sender_id, after, before } = request;
  const what = JSON.stringify([userId, terms, conversation_id, sender_id, after, before]);
  return createHash('sha256').update(what).digest('base64url').slice(0, 16);
}

function cursorOf(offset: number, key: string): string {
  return `${offset}.${key}`;
}

function offsetOf(cursor: string, key: string): number {
  const match = /^(\d{1,6})\.([\w-]{16})$/.exec(cursor);
  const offset = Number(match?.[1]);
  if (!match || match[2] !== key || offset > SEARCH_WINDOW) {
    throw new NatterError('bad_request', 'cursor: not a cursor of this search');
  }
  return offset;
}
