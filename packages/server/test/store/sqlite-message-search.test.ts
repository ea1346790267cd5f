import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import type { SearchQuery } from '../../src/store/message-search.js';
import { openSqlite } from '../../src/store/sqlite/sqlite-database.js';
import {
  SEARCH_QUEUE_LIMIT,
  SEARCH_RESTART_DELAY_MS,
  SqliteMessageSearch,
} from '../../src/store/sqlite/sqlite-message-search.js';
import { openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';
import type { AppendOp } from '../../src/store/write-ops.js';
import { ManualClock } from '../helpers/manual-clock.js';

/**
 * A search thread that holds every search until the test releases it, then answers each with one
 * match whose conversationId is the searcher's id (so an answer shows whose it is).
 */
const HOLDING_THREAD = `
const { parentPort } = require('node:worker_threads');
const held = [];
parentPort.postMessage({ type: 'ready' });
parentPort.on('message', (message) => {
  if (message.type === 'close') return parentPort.close();
  if (message.type === 'search') return held.push(message);
  for (const { id, query } of held.splice(0)) {
    const match = { conversationId: query.userId, seq: 1, senderId: 's', sentAt: 1, body: 'b', threadRoot: null };
    parentPort.postMessage({ type: 'page', id, page: { matches: [match], hasMore: false } });
  }
});`;

interface HoldingThread {
  worker: Worker;
  /** Searches the client has sent to this thread. */
  sent(): number;
  /** Answers every search the thread holds. */
  release(): void;
}

function holdingThread(): HoldingThread {
  const worker = new Worker(HOLDING_THREAD, { eval: true });
  const post = worker.postMessage.bind(worker);
  let sent = 0;
  worker.postMessage = (message: { type: string }) => {
    if (message.type === 'search') sent++;
    post(message);
  };
  return { worker, sent: () => sent, release: () => post({ type: 'release' }) };
}

function query(userId: string, timeoutMs: number): SearchQuery {
  return { userId, terms: [{ word: 'hello', prefix: false }], offset: 0, limit: 20, timeoutMs };
}

/** Waits for something the other thread does (not for time to pass). */
async function until(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > 10_000) throw new Error('condition not met within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const log = createLogger('silent');
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'natter-search-thread-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A migrated database, open the way the stores keep it open while the search thread reads it. */
async function database(): Promise<{ dir: string; db: Database.Database }> {
  const dir = await tempDir();
  const db = openSqlite(dir);
  cleanups.push(async () => void db.close());
  return { dir, db };
}

/** A client whose threads are a holding thread first, then real ones; `threads` in start order. */
function searchWith(dataDir: string, clock: ManualClock, first?: HoldingThread) {
  const threads: Worker[] = [];
  const search = new SqliteMessageSearch({
    dataDir,
    log,
    clock,
    startThread(script: URL, options: WorkerOptions) {
      const thread = threads.length === 0 && first ? first.worker : new Worker(script, options);
      threads.push(thread);
      return thread;
    },
  });
  cleanups.push(() => search.close());
  return { search, threads };
}

describe('SqliteMessageSearch (the search thread)', () => {
  it("answers search_timeout at the caller's deadline, keeps the thread to one search, and drops the late answer", async () => {
    const clock = new ManualClock();
    const thread = holdingThread();
    const { search } = searchWith((await database()).dir, clock, thread);

    const overrun = search.search(query('first', 100));
    const next = search.search(query('second', 1_000));
    await until(() => thread.sent() === 1);
    const timedOut = expect(overrun).rejects.toMatchObject({ code: 'search_timeout', retryable: true });
    await clock.advance(100);
    await timedOut;

    // The first search still runs on the thread (SQLite cannot stop it): the second waits for it.
    expect(thread.sent()).toBe(1);
    thread.release();
    await until(() => thread.sent() === 2);
    thread.release();
    expect((await next).matches.map((m) => m.conversationId)).toEqual(['second']);
  });

  it('refuses a search past the queue with overloaded, and times out a search still waiting', async () => {
    const clock = new ManualClock();
    const thread = holdingThread();
    const { search } = searchWith((await database()).dir, clock, thread);

    const running = search.search(query('running', 10_000));
    await until(() => thread.sent() === 1);
    const waiting = Array.from({ length: SEARCH_QUEUE_LIMIT }, (_, i) =>
      search.search(query(`waiting-${i}`, i === 0 ? 50 : 10_000)),
    );
    await expect(search.search(query('one too many', 10_000))).rejects.toMatchObject({
      code: 'overloaded',
      retryable: true,
    });

    const [soonest, ...rest] = waiting;
    const timedOut = expect(soonest).rejects.toMatchObject({ code: 'search_timeout' });
    await clock.advance(50);
    await timedOut;
    // Its place in the queue is free again.
    const admitted = search.search(query('admitted', 10_000));

    const outcomes = Promise.allSettled([running, ...rest, admitted]);
    await search.close();
    for (const outcome of await outcomes) {
      expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'unavailable', retryable: true } });
    }
    expect(thread.sent()).toBe(1);
  });

  it('fails the searches of a thread that dies with a retryable unavailable, and starts a new thread', async () => {
    const clock = new ManualClock();
    const thread = holdingThread();
    const { dir } = await database();
    const { search, threads } = searchWith(dir, clock, thread);

    const running = search.search(query('running', 10_000));
    await until(() => thread.sent() === 1);
    const waiting = search.search(query('waiting', 10_000));
    const lost = Promise.allSettled([running, waiting]);
    await thread.worker.terminate();
    for (const outcome of await lost) {
      expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'unavailable', retryable: true } });
    }
    await expect(search.search(query('meanwhile', 10_000))).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringMatching(/restarting/),
    });

    await clock.advance(SEARCH_RESTART_DELAY_MS);
    expect(threads).toHaveLength(2);
    expect(await search.search(query('after', 10_000))).toEqual({ matches: [], hasMore: false });

    // A real search thread, terminated mid-life, is replaced the same way.
    await threads[1]!.terminate();
    await expect(search.search(query('meanwhile', 10_000))).rejects.toMatchObject({ code: 'unavailable' });
    await clock.advance(SEARCH_RESTART_DELAY_MS);
    expect(threads).toHaveLength(3);
    expect(await search.search(query('after', 10_000))).toEqual({ matches: [], hasMore: false });
  });

  it('keeps the event loop turning while a heavy search runs', async () => {
    const stores = openSqliteStores(await tempDir(), log);
    cleanups.push(() => stores.close());
    const [created] = await stores.logStore.commit([
      { kind: 'create_group', creatorId: 'alice', title: 't', memberIds: ['bob'] },
    ]);
    if (!created?.ok) throw new Error('create_group failed');
    const conversationId = created.value.conversationId;
    // 20,000 matches of one word: the whole SQLITE_SCAN_LIMIT, the most a search reads and ranks.
    for (let batch = 0; batch < 20; batch++) {
      await stores.logStore.commit(
        Array.from({ length: 1_000 }, (_, i): AppendOp => {
          const n = batch * 1_000 + i;
          return {
            kind: 'append',
            eventKind: 'message',
            conversationId,
            senderId: 'bob',
            deviceId: null,
            clientMsgId: `m${n}`,
            body: `common chatter number${n} and common again`,
            refSeq: null,
            metadata: null,
          };
        }),
      );
    }

    for (const terms of [[{ word: 'common', prefix: false }], [{ word: 'c', prefix: true }]]) {
      let ticks = 0;
      let searching = true;
      const tick = () => {
        if (!searching) return;
        ticks++;
        setImmediate(tick);
      };
      setImmediate(tick);
      const page = await stores.messageSearch.search({
        userId: 'alice',
        terms,
        offset: 0,
        limit: 20,
        timeoutMs: 60_000,
      });
      searching = false;
      expect(page.matches).toHaveLength(20);
      // On the main thread the search would answer before the loop turned once (0 ticks); on the
      // search thread the loop turns thousands of times while it ranks 20,000 matches.
      expect(ticks).toBeGreaterThanOrEqual(10);
    }
  });

  it('leaves no thread behind when stores are opened and closed many times', async () => {
    const dir = await tempDir();
    const cycle = async () => {
      const stores = openSqliteStores(dir, log);
      await stores.whenReady();
      await stores.messageSearch.search(query('alice', 10_000));
      await stores.close();
    };
    const threadsNow = () => readdirSync('/proc/self/task').length;
    await cycle();
    const before = threadsNow();
    const cycles = 10;
    for (let i = 0; i < cycles; i++) await cycle();
    // Each open starts two threads (writer, search); a leak would add at least one per cycle.
    expect(threadsNow() - before).toBeLessThan(cycles);
  });
});
