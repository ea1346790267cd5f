import type { SearchPage, SearchQuery } from '../message-search.js';

/** What the search thread is started with. */
export interface SearchThreadOptions {
  dataDir: string;
}

/** Messages from the main thread to the search thread (structured-cloned, so no classes). */
export type SearchThreadRequest = { type: 'search'; id: number; query: SearchQuery } | { type: 'close' };

/** `ready` once the database is open; then one `page` or `failure` per search, in order. */
export type SearchThreadReply =
  | { type: 'ready' }
  | { type: 'page'; id: number; page: SearchPage }
  | { type: 'failure'; id: number; message: string };
