/** A search as the store runs it: words already parsed (see chat/search-query.ts). */
export interface SearchQuery {
  userId: string;
  /** Words that must all match (AND). Letters, digits and `_` only: never query syntax. */
  terms: SearchTerm[];
  conversationId?: string;
  senderId?: string;
  /** Sent at or after (ms since the epoch). */
  after?: number;
  /** Sent before (ms since the epoch). */
  before?: number;
  /** Results to skip (the page's place in the ranked window). */
  offset: number;
  /** Results to return. */
  limit: number;
  /** Most milliseconds the store may spend; past it the search fails with `search_timeout`. */
  timeoutMs: number;
}

export interface SearchTerm {
  word: string;
  /** Matches any word that starts with `word`. */
  prefix: boolean;
}

/** A message that matched, with its current text (the service cuts the snippet). */
export interface SearchMatch {
  conversationId: string;
  seq: number;
  senderId: string;
  sentAt: number;
  body: string;
  threadRoot: number | null;
}

export interface SearchPage {
  matches: SearchMatch[];
  /** More ranked matches remain after this page within the window. */
  hasMore: boolean;
}

/**
 * Full-text search over the message index each store keeps beside its log. Contract:
 * - The index holds the current text of every message (thread replies included) that is not
 *   deleted: an edit replaces the text in the same transaction as the edit (the old text no
 *   longer matches), a delete removes it. Derived from the log, never the source of truth.
 * - A search returns only messages the user may read as `historyBefore` shows them: seqs within
 *   each membership span (from joining to removal for a former member), and not a message whose
 *   text changed after the user's removal. A conversation the user cannot read, or that does not
 *   exist, matches nothing: the two answers are the same.
 * - Cost is bounded: only the newest SEARCH_WINDOW matches (by position in the log) the user may
 *   see are ranked, so a very common word costs a bounded scan; the ranked order is stable for
 *   one snapshot, and `offset` pages through it. Past `timeoutMs` it rejects with `search_timeout`.
 */
export interface MessageSearch {
  search(query: SearchQuery): Promise<SearchPage>;
}

/** How many of the newest visible matches a search ranks. */
export const SEARCH_WINDOW = 2_000;
