import { type ChatEvent, NatterError } from '@natter/protocol';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { createLogger } from '../../src/log.js';
import type { LogStore, SyncPage } from '../../src/store/log-store.js';
import { connectPostgres, type Db } from '../../src/store/postgres/postgres-connection.js';
import { changedViews } from '../../src/store/postgres/postgres-log-reader.js';
import { openPostgresStores, type PostgresStores } from '../../src/store/postgres/postgres-stores.js';
import type { CursorOp, WriteOp } from '../../src/store/write-ops.js';
import { reachablePostgres, useTestDatabase } from '../helpers/postgres.js';
import { describeAnnotationsConformance } from './annotations.conformance.js';
import { describeChannelsConformance } from './channels.conformance.js';
import { describeHiddenConformance } from './hidden.conformance.js';
import { describeLogStoreConformance } from './log-store.conformance.js';
import { describePushQueueConformance } from './push-queue.conformance.js';
import { describeSearchConformance } from './search.conformance.js';
import { createGroup, edit, message, okOf, run, uid } from './store-ops.js';
import { describeThreadsConformance } from './threads.conformance.js';
import { describeUsersConformance } from './users.conformance.js';
import { describeWebhookQueueConformance } from './webhook-queue.conformance.js';

const adminUrl = await reachablePostgres('the PostgreSQL log store tests');

function cursor(conversationId: string, userId: string, read: number): CursorOp {
  return { kind: 'cursor', conversationId, userId, read, delivered: null };
}

async function allEvents(store: LogStore, userId: string, conversationId: string): Promise<ChatEvent[]> {
  const page = await store.fetchAfter(userId, conversationId, 0, 100_000);
  if (!page || page.hasMore) throw new Error('expected the whole history in one page');
  return page.events;
}

describe.skipIf(adminUrl === null)('PostgreSQL log store', () => {
  const database = useTestDatabase(adminUrl);
  const closers: Array<() => Promise<void>> = [];

  /** A node's stores, as a server process opens them: a pool of its own. */
  async function openNode(url = database.url): Promise<PostgresStores> {
    const stores = openPostgresStores(url, createLogger('silent'), { maxConnections: 4 });
    closers.push(() => stores.close());
    await stores.whenReady();
    return stores;
  }

  /** Connections of the test's own, for what no store offers: injecting faults, reading plans. */
  function admin(url = database.url): Db {
    const sql = connectPostgres(url, { maxConnections: 2 });
    closers.push(() => sql.end());
    return sql;
  }

  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  /** A conformance suite's handle: stores of their own over the test database, closed by the suite. */
  async function openConformanceStores(options: { searchWalkAboveMatches?: number; clock?: Clock } = {}) {
    const stores = openPostgresStores(database.url, createLogger('silent'), {
      maxConnections: 4,
      ...options,
    });
    await stores.whenReady();
    return {
      store: stores.logStore,
      accounts: stores.accountStore,
      search: stores.messageSearch,
      pushStore: stores.pushStore,
      webhookStore: stores.webhookStore,
      close: () => stores.close(),
    };
  }

  describeLogStoreConformance('PostgreSQL', (options) => openConformanceStores(options));

  describeAnnotationsConformance('PostgreSQL', () => openConformanceStores());

  describeSearchConformance('PostgreSQL', () => openConformanceStores());

  // The plan for very common words (walking each conversation newest first), which a small test
  // database never picks by itself: the same promises.
  describeSearchConformance('PostgreSQL (walk plan)', () =>
    openConformanceStores({ searchWalkAboveMatches: -1 }),
  );

  describeThreadsConformance('PostgreSQL', () => openConformanceStores());

  describeHiddenConformance('PostgreSQL', () => openConformanceStores());

  describeChannelsConformance('PostgreSQL', () => openConformanceStores());

  describeUsersConformance('PostgreSQL', () => openConformanceStores());

  describePushQueueConformance('PostgreSQL', () => openConformanceStores());

  describeWebhookQueueConformance('PostgreSQL', () => openConformanceStores());

  describe('PostgreSQL specifics', () => {
    it('stops a search at its timeout with a retryable search_timeout, and the node stays healthy', async () => {
      const node = await openNode();
      const [alice, bob] = [uid('alice'), uid('bob')];
      const conv = await createGroup(node.logStore, alice, [bob]);
      await run(node.logStore, message(conv, alice, 'locked words'));
      // A lock the search waits for makes it run past its bound, whatever the machine's speed.
      const holder = await admin().reserve();
      await holder`BEGIN`;
      await holder`LOCK TABLE message_search IN ACCESS EXCLUSIVE MODE`;
      try {
        const terms = [{ word: 'locked', prefix: false }];
        const search = node.messageSearch.search({ userId: bob, terms, offset: 0, limit: 5, timeoutMs: 200 });
        await expect(search).rejects.toMatchObject({ code: 'search_timeout', retryable: true });
      } finally {
        await holder`ROLLBACK`;
        holder.release();
      }
      expect(node.healthy()).toBe(true);
      const page = await node.messageSearch.search({
        userId: bob,
        terms: [{ word: 'locked', prefix: false }],
        offset: 0,
        limit: 5,
        timeoutMs: 2_000,
      });
      expect(page.matches.map((m) => m.body)).toEqual(['locked words']);
    });

    it('sets synchronous_commit=on in every session, whatever the database default says', async () => {
      const name = new URL(database.url).pathname.slice(1);
      const sql = admin();
      await sql.unsafe(`ALTER DATABASE ${name} SET synchronous_commit = off`);
      try {
        const plain = postgres(database.url, { max: 1 });
        closers.push(() => plain.end());
        const [byDefault] = await plain<
          { value: string }[]
        >`SELECT current_setting('synchronous_commit') AS value`;
        expect(byDefault?.value).toBe('off');
        const ours = connectPostgres(database.url, { maxConnections: 1 });
        closers.push(() => ours.end());
        const [set] = await ours<{ value: string }[]>`SELECT current_setting('synchronous_commit') AS value`;
        expect(set?.value).toBe('on');
      } finally {
        await sql.unsafe(`ALTER DATABASE ${name} RESET synchronous_commit`);
      }
    });

    it('fails only the op whose data PostgreSQL cannot store, and commits the rest', async () => {
      const { logStore } = await openNode();
      const alice = uid('alice');
      const conv = await createGroup(logStore, alice, []);
      const results = await logStore.commit([
        message(conv, alice, 'before'),
        message(conv, alice, 'nul \u0000 inside'),
        message(conv, alice, 'after'),
      ]);
      expect(okOf(results[0]).events[0]?.seq).toBe(2);
      expect(results[1]).toMatchObject({ ok: false, error: { code: 'bad_request' } });
      expect(okOf(results[2]).events[0]?.seq).toBe(3);
      expect((await allEvents(logStore, alice, conv)).map((e) => e.body)).toEqual([null, 'before', 'after']);
    });

    it('fails only the op the database refuses when its messages were written in bulk, and keeps the rest in order', async () => {
      const { logStore } = await openNode();
      const [alice, bob] = [uid('alice'), uid('bob')];
      const conv = await createGroup(logStore, alice, [bob]);
      const other = await createGroup(logStore, bob, [alice]);
      const from = await logStore.latestPosition(bob);
      // A run of plain messages is one statement: jsonb refuses a NUL, so the batch is committed
      // again op by op and only that message fails.
      const results = await logStore.commit([
        message(conv, alice, 'one', { clientMsgId: 'cm-1' }),
        message(other, bob, 'elsewhere'),
        message(conv, alice, 'bad', { metadata: { note: 'nul \u0000 inside' } }),
        message(conv, alice, 'one again', { clientMsgId: 'cm-1' }),
        message(conv, bob, 'two'),
      ]);
      expect(okOf(results[0]).events[0]?.seq).toBe(2);
      expect(okOf(results[1]).events[0]?.seq).toBe(2);
      expect(results[2]).toMatchObject({ ok: false, error: { code: 'bad_request' } });
      expect(okOf(results[3])).toMatchObject({ duplicate: true, events: [{ seq: 2, body: 'one' }] });
      expect(okOf(results[4]).events[0]).toMatchObject({ seq: 3, body: 'two' });
      expect((await allEvents(logStore, bob, conv)).map((e) => e.body)).toEqual([null, 'one', 'two']);
      const page = await logStore.syncSince(bob, from, from, 10, 10);
      expect(page.conversations.map((c) => c.conversation_id).sort()).toEqual([conv, other].sort());
    });

    it('indexes every message for search at its real log position, written in bulk or op by op', async () => {
      const { logStore } = await openNode();
      const [alice, bob] = [uid('alice'), uid('bob')];
      const conv = await createGroup(logStore, alice, [bob]);
      const first = await run(logStore, message(conv, alice, 'plain words'));
      // A reply and a mention are written op by op (their events stamped after the insert), plain
      // messages in bulk; one commit holds both kinds.
      await logStore.commit([
        message(conv, bob, 'a reply with words', { replyTo: first.events[0]!.seq }),
        message(conv, alice, 'more plain words'),
        message(conv, bob, 'words for alice', { mentions: [alice] }),
        edit(conv, alice, first.events[0]!.seq, 'plain words edited'),
      ]);
      const [mismatch] = await admin()<{ n: number }[]>`
        SELECT count(*)::integer AS n FROM message_search ms
        JOIN events e ON e.conversation_id = ms.conversation_id AND e.seq = ms.seq
        WHERE ms.conversation_id = ${conv} AND ms.pos <> e.pos`;
      const [indexed] = await admin()<{ n: number }[]>`
        SELECT count(*)::integer AS n FROM message_search WHERE conversation_id = ${conv}`;
      expect(indexed?.n).toBe(4);
      expect(mismatch?.n).toBe(0);
    });

    it('reports a commit whose connection is lost as retryable unavailable, stores nothing of it, and recovers', async () => {
      const node = await openNode();
      const { logStore } = node;
      const [alice, bob] = [uid('alice'), uid('bob')];
      const conv = await createGroup(logStore, alice, [bob]);
      const before = await logStore.latestPosition(bob);

      // Hold the conversation's row lock, so the node's commit is certainly in flight when its
      // connection is killed.
      const sql = admin();
      const holder = await sql.reserve();
      await holder`BEGIN`;
      await holder`SELECT 1 FROM conversations WHERE id = ${conv} FOR UPDATE`;
      const lost = logStore.commit([message(conv, alice, 'in flight', { clientMsgId: 'cm-lost' })]);
      const waiting = async () =>
        sql<{ pid: number }[]>`
          SELECT pid FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'natter' AND wait_event_type = 'Lock'`;
      let blocked = await waiting();
      for (let i = 0; blocked.length === 0 && i < 100; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        blocked = await waiting();
      }
      expect(blocked).toHaveLength(1);
      await sql`SELECT pg_terminate_backend(${blocked[0]!.pid})`;
      const error = await lost.then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(NatterError);
      expect(error).toMatchObject({ code: 'unavailable', retryable: true });
      expect(node.healthy()).toBe(false);
      await holder`ROLLBACK`;
      holder.release();

      // The driver reconnects by itself: the retry (same client message id) is stored once, gap-free.
      const retried = okOf(
        (await logStore.commit([message(conv, alice, 'in flight', { clientMsgId: 'cm-lost' })]))[0],
      );
      expect(retried).toMatchObject({ duplicate: false, events: [{ seq: 2, body: 'in flight' }] });
      expect(node.healthy()).toBe(true);
      expect((await allEvents(logStore, bob, conv)).map((e) => e.seq)).toEqual([1, 2]);
      expect(await logStore.latestPosition(bob)).toBeGreaterThan(before);
    });

    it('keeps a node whose database is unreachable not ready, trying until it is closed', async () => {
      const stores = openPostgresStores('postgres://nobody@127.0.0.1:1/none', createLogger('silent'));
      let settled = false;
      const ready = stores.whenReady().finally(() => {
        settled = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(stores.healthy()).toBe(false);
      expect(settled).toBe(false);
      await stores.close();
      await expect(ready).rejects.toThrow();
    });
  });

  describe('on a new database', () => {
    const fresh = useTestDatabase(adminUrl);

    it('migrates once when several nodes start at the same moment', async () => {
      const nodes = await Promise.all([1, 2, 3, 4].map(() => openNode(fresh.url)));
      const versions = await admin(fresh.url)<
        { version: number }[]
      >`SELECT version FROM schema_migrations ORDER BY version`;
      // Each migration once, in order: 1, 2, ... up to the newest (the table's key forbids repeats).
      expect(versions.length).toBeGreaterThan(1);
      expect(versions.map((v) => v.version)).toEqual(versions.map((_, i) => i + 1));
      const alice = uid('alice');
      const conv = await createGroup(nodes[0]!.logStore, alice, []);
      for (const node of nodes) expect((await node.logStore.conversationFor(alice, conv))?.last_seq).toBe(1);
      for (const node of nodes) expect(node.healthy()).toBe(true);
    });
  });

  describe('resume cost', () => {
    it('reads ~3 rows to resume a user in 20,000 conversations of which 3 changed', async () => {
      const { logStore } = await openNode();
      const me = uid('busy');
      const peers = Array.from({ length: 20_000 }, (_, i) => uid(`peer${i}`));
      const conversations: string[] = [];
      for (let from = 0; from < peers.length; from += 1000) {
        const ops = peers
          .slice(from, from + 1000)
          .map((peerId): WriteOp => ({ kind: 'create_direct', userId: me, peerId }));
        for (const r of await logStore.commit(ops)) conversations.push(okOf(r).conversationId);
      }
      const token = await logStore.latestPosition(me);
      const changed = [3, 10_000, 19_999];
      for (const i of changed) await run(logStore, message(conversations[i]!, peers[i]!, 'x'));

      const sync = await logStore.syncSince(me, token, token, 100, 100);
      expect(sync.conversations.map((c) => c.conversation_id)).toEqual(changed.map((i) => conversations[i]));
      expect(sync.events.map((e) => e.body)).toEqual(['x', 'x', 'x']);
      expect(sync.hasMore).toBe(false);

      // The query resume runs, as the planner runs it on this data: rows read per table.
      const sql = admin();
      await sql`ANALYZE`;
      const [explained] = await sql<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }[]>`
        EXPLAIN (ANALYZE, FORMAT JSON) ${changedViews(sql, me, token, 101)}`;
      const read = rowsReadByRelation(explained!['QUERY PLAN'][0]!.Plan);
      expect(read).toEqual({ user_conversations: 3, members: 3, conversations: 3 });
    }, 120_000);
  });

  describe('two nodes at once', () => {
    it('keep seqs gap-free and in commit order, positions in commit order, and a sync by token never misses', async () => {
      const nodes = [await openNode(), await openNode()];
      const [alice, bob, carol] = [uid('alice'), uid('bob'), uid('carol')];
      const shared = await createGroup(nodes[0]!.logStore, alice, [bob, carol]);
      const own = [
        await createGroup(nodes[0]!.logStore, alice, [bob]),
        await createGroup(nodes[1]!.logStore, alice, [carol]),
      ];

      interface Sent {
        conversationId: string;
        seq: number;
        calledAt: number;
        settledAt: number;
      }
      const sent: Sent[] = [];
      const COMMITS_PER_NODE = 150;
      /** Per node, the call index of each commit in the order they settled. */
      const settleOrder: number[][] = [[], []];
      const writing = nodes.map(async (node, n) => {
        const sender = n === 0 ? bob : carol;
        const commits: Array<Promise<void>> = [];
        for (let i = 0; i < COMMITS_PER_NODE; i++) {
          // Batches that touch the shared conversation, this node's own one, or both (in either
          // order), with cursor moves that take positions without events.
          const ops: WriteOp[] = [];
          if (i % 3 !== 1) ops.push(message(shared, sender, `${n}.${i}`));
          if (i % 3 !== 0) ops.push(message(own[n]!, sender, `${n}.${i}`));
          if (i % 4 === 0) ops.reverse();
          if (i % 5 === 0) ops.push(cursor(shared, alice, i));
          const calledAt = performance.now();
          commits.push(
            node.logStore.commit(ops).then((results) => {
              const settledAt = performance.now();
              settleOrder[n]!.push(i);
              results.forEach((r, k) => {
                const outcome = okOf(r);
                if (ops[k]!.kind !== 'append') return;
                expect(outcome.duplicate).toBe(false);
                sent.push({
                  conversationId: outcome.conversationId,
                  seq: outcome.events[0]!.seq,
                  calledAt,
                  settledAt,
                });
              });
            }),
          );
          if (i % 10 === 9) await Promise.all(commits.splice(0));
        }
        await Promise.all(commits);
      });

      // Meanwhile alice resumes again and again by token, through either node.
      const seen = new Map<string, Set<number>>();
      let token = 0;
      let syncs = 0;
      const resume = async (store: LogStore) => {
        let page: SyncPage;
        let position = token;
        do {
          page = await store.syncSince(alice, position, token, 100, 100_000);
          expect(page.truncated).toEqual([]);
          for (const e of page.events) {
            const got = seen.get(e.conversation_id) ?? new Set<number>();
            got.add(e.seq);
            seen.set(e.conversation_id, got);
          }
          expect(page.position).toBeGreaterThanOrEqual(position);
          position = page.position;
        } while (page.hasMore);
        token = position;
        syncs += 1;
      };
      let done = false;
      const allWritten = Promise.all(writing).finally(() => {
        done = true;
      });
      while (!done) await resume(nodes[syncs % 2]!.logStore);
      await allWritten;
      await resume(nodes[0]!.logStore);
      expect(syncs).toBeGreaterThan(5);

      for (const conv of [shared, ...own]) {
        const history = await allEvents(nodes[1]!.logStore, alice, conv);
        // Gap-free: 1..N, every acked message stored once with the seq it was acked with.
        expect(history.map((e) => e.seq)).toEqual(history.map((_, i) => i + 1));
        const acked = sent.filter((s) => s.conversationId === conv).map((s) => s.seq);
        expect(new Set(acked).size).toBe(acked.length);
        expect([...acked].sort((a, b) => a - b)).toEqual(history.slice(1).map((e) => e.seq));
        // Nothing missed by any resume, however the commits of the two nodes interleaved with it.
        expect([...(seen.get(conv) ?? [])].sort((a, b) => a - b)).toEqual(history.map((e) => e.seq));
      }
      // One node's commits settle in the order they were made.
      for (const order of settleOrder) expect(order).toEqual(order.map((_, i) => i));
      // Commit order: a commit acked before another was even made has the lower seq.
      for (const conv of [shared, ...own]) {
        const ofConv = sent.filter((s) => s.conversationId === conv);
        for (const earlier of ofConv) {
          for (const later of ofConv) {
            if (earlier.settledAt < later.calledAt) expect(earlier.seq).toBeLessThan(later.seq);
          }
        }
      }
      expect(token).toBe(await nodes[1]!.logStore.latestPosition(alice));
    }, 120_000);
  });
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  Plans?: PlanNode[];
}

/** Rows the scans of each table produced, over all their loops. */
function rowsReadByRelation(node: PlanNode, into: Record<string, number> = {}): Record<string, number> {
  if (node['Relation Name']) {
    expect(node['Node Type'], `${node['Relation Name']} is read through an index`).not.toBe('Seq Scan');
    const relation = node['Relation Name'];
    into[relation] = (into[relation] ?? 0) + node['Actual Rows'] * node['Actual Loops'];
  }
  for (const child of node.Plans ?? []) rowsReadByRelation(child, into);
  return into;
}
