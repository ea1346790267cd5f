import { Worker, type WorkerOptions } from 'node:worker_threads';
import { NatterError } from '@natter/protocol';
import type { Logger } from 'pino';
import { type Clock, MAX_TIMER_MS, systemClock, type Timer } from '../../clock.js';
import { workerScript } from '../../compiled-twin.js';
import type { MessageSearch, SearchPage, SearchQuery } from '../message-search.js';
import type {
  SearchThreadOptions,
  SearchThreadReply,
  SearchThreadRequest,
} from './sqlite-search-messages.js';

/**
 * Searches waiting for the thread, beyond the one it runs. A common word takes ~40 ms on 1M
 * messages (docs/benchmarks.md §6), so a full queue is about 1.3 s of work: within the default
 * NATTER_SEARCH_TIMEOUT_MS of 2 s, so a queued search still has a chance to be answered.
 */
export const SEARCH_QUEUE_LIMIT = 32;

/** Between a search thread's death and its replacement (keeps one that cannot start from spinning). */
export const SEARCH_RESTART_DELAY_MS = 500;

export interface SqliteMessageSearchOptions {
  dataDir: string;
  log: Logger;
  /** Times each search's deadline and the restart delay. */
  clock?: Clock;
  /** Starts the search thread; a test passes one that keeps the thread to terminate it. */
  startThread?: (script: URL, options: WorkerOptions) => Worker;
  /**
   * Resolves once every message committed before the call is indexed (the writer indexes after
   * its commits): a search waits for it, so it finds every message acked before it was asked for.
   */
  indexed?: () => Promise<void>;
}

interface Search {
  id: number;
  query: SearchQuery;
  resolve: (page: SearchPage) => void;
  reject: (error: Error) => void;
  deadline: Timer;
  /** The caller has its answer (a page, an error, or search_timeout); a later one is dropped. */
  answered: boolean;
}

/**
 * The MessageSearch of the embedded store: each search runs on a search thread with its own
 * read-only connection (sqlite-search-worker.ts), so the main thread keeps serving sockets while
 * FTS5 and bm25 work. Contract, beyond the port's:
 * - The thread runs one search at a time; up to SEARCH_QUEUE_LIMIT more wait here, and past that a
 *   search is refused at once with a retryable `overloaded`.
 * - `timeoutMs` counts from the call and covers the wait and the run: past it the caller gets
 *   `search_timeout`. SQLite cannot interrupt a running statement, so a search that overran still
 *   occupies the thread until it finishes, and its late answer is dropped.
 * - If the thread dies, the searches waiting on it fail with a retryable `unavailable`, and so do
 *   new ones until a new thread starts (SEARCH_RESTART_DELAY_MS later); searches made while it
 *   opens the database wait for it.
 * - `close` fails what is still waiting with `unavailable` and resolves once the thread has exited.
 */
export class SqliteMessageSearch implements MessageSearch {
  /** null from a thread's death until its replacement starts, and after close. */
  private thread: Worker | null;
  private state: 'starting' | 'ready' | 'restarting' | 'closed' = 'starting';
  /** The search the thread is running, answered or not, until its reply arrives. */
  private running: Search | null = null;
  private readonly queue: Search[] = [];
  private restart: Timer | null = null;
  private nextId = 1;
  private readonly clock: Clock;
  private readonly startThread: (script: URL, options: WorkerOptions) => Worker;

  constructor(private readonly options: SqliteMessageSearchOptions) {
    this.clock = options.clock ?? systemClock;
    this.startThread = options.startThread ?? ((script, workerOptions) => new Worker(script, workerOptions));
    this.thread = this.start();
  }

  search(query: SearchQuery): Promise<SearchPage> {
    if (query.terms.length === 0) return Promise.resolve({ matches: [], hasMore: false });
    if (this.state === 'restarting' || this.state === 'closed') return Promise.reject(this.unavailable());
    if (this.queue.length >= SEARCH_QUEUE_LIMIT) {
      return Promise.reject(
        new NatterError('overloaded', 'Too many searches are waiting; retry later.', { retryAfterMs: 1_000 }),
      );
    }
    return new Promise((resolve, reject) => {
      const search: Search = {
        id: this.nextId++,
        query,
        resolve,
        reject,
        answered: false,
        deadline: this.clock.after(Math.min(query.timeoutMs, MAX_TIMER_MS), () => {
          const waiting = this.queue.indexOf(search);
          if (waiting >= 0) this.queue.splice(waiting, 1);
          this.answer(search, new NatterError('search_timeout'));
        }),
      };
      const queue = () => {
        if (search.answered) return;
        this.queue.push(search);
        this.dispatch();
      };
      if (!this.options.indexed) queue();
      else
        this.options.indexed().then(queue, (error: unknown) => this.answer(search, this.notIndexed(error)));
    });
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.restart?.cancel();
    this.failWaiting(this.unavailable());
    const thread = this.thread;
    this.thread = null;
    if (!thread) return;
    const exited = new Promise((resolve) => thread.once('exit', resolve));
    thread.postMessage({ type: 'close' } satisfies SearchThreadRequest);
    await exited;
  }

  private start(): Worker {
    this.state = 'starting';
    const script = workerScript(new URL('./sqlite-search-worker.js', import.meta.url));
    const threadOptions: SearchThreadOptions = { dataDir: this.options.dataDir };
    const thread = this.startThread(script, { workerData: threadOptions });
    thread.on('message', (reply: SearchThreadReply) => {
      if (thread === this.thread) this.onReply(reply);
    });
    thread.on('error', (error) => this.fail(thread, error));
    thread.on('exit', (code) =>
      this.fail(thread, new Error(`SQLite search thread exited with code ${code}`)),
    );
    return thread;
  }

  /** Sends the next waiting search, if the thread is up and idle. */
  private dispatch(): void {
    if (this.state !== 'ready' || this.running || !this.thread) return;
    const next = this.queue.shift();
    if (!next) return;
    this.running = next;
    this.thread.postMessage({ type: 'search', id: next.id, query: next.query } satisfies SearchThreadRequest);
  }

  private onReply(reply: SearchThreadReply): void {
    if (reply.type === 'ready') {
      this.state = 'ready';
    } else {
      const search = this.running;
      if (search?.id !== reply.id) return;
      this.running = null;
      this.answer(search, reply.type === 'page' ? reply.page : new Error(reply.message));
    }
    this.dispatch();
  }

  private answer(search: Search, outcome: SearchPage | Error): void {
    if (search.answered) return;
    search.answered = true;
    search.deadline.cancel();
    if (outcome instanceof Error) search.reject(outcome);
    else search.resolve(outcome);
  }

  private fail(thread: Worker, error: Error): void {
    if (thread !== this.thread || this.state === 'closed') return;
    this.options.log.error(
      { err: error, waiting: this.queue.length + (this.running ? 1 : 0) },
      'SQLite search thread failed; restarting it',
    );
    this.thread = null;
    this.state = 'restarting';
    this.failWaiting(this.unavailable());
    this.restart = this.clock.after(SEARCH_RESTART_DELAY_MS, () => {
      this.restart = null;
      if (this.state === 'restarting') this.thread = this.start();
    });
  }

  private failWaiting(error: NatterError): void {
    const waiting = [...(this.running ? [this.running] : []), ...this.queue.splice(0)];
    this.running = null;
    for (const search of waiting) this.answer(search, error);
  }

  private notIndexed(cause: unknown): NatterError {
    return new NatterError('unavailable', 'Search could not catch up with the latest messages; retry.', {
      cause,
    });
  }

  private unavailable(): NatterError {
    const why = this.state === 'closed' ? 'is closed.' : 'stopped and is restarting; retry.';
    return new NatterError('unavailable', `The SQLite search thread ${why}`);
  }
}
