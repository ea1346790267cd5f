// The SQLite writer alone: µs per 1:1 message inside a batch, split by prepared statement ("phase"),
// and the search indexing that follows the commits on the writer thread. No sockets, no worker
// thread: the same SqliteLogWriter and SqliteSearchIndexer the writer thread runs, on a fresh data dir.
//   node bench/sqlite-writer.mjs [--batch 100] [--messages 50000] [--pairs 500]
// Prints a JSON summary; bench/run.mjs runs it as the `writer` scenario.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openSqlite } from '../packages/server/dist/store/sqlite/sqlite-database.js';
import { SqliteLogWriter } from '../packages/server/dist/store/sqlite/sqlite-log-writer.js';
import { SqliteSearchIndexer } from '../packages/server/dist/store/sqlite/sqlite-search-indexer.js';

/** The writer thread's checkpoint setting in the server (NATTER_WAL_CHECKPOINT_PAGES default). */
const CHECKPOINT_PAGES = 10_000;

/**
 * @param {{ batch: number, messages: number, pairs: number, phases: boolean,
 *   prepare?: (db: import('better-sqlite3').Database) => void }} options
 */
export function measureWriter({ batch, messages, pairs, phases, prepare }) {
  const dir = mkdtempSync(join(tmpdir(), 'natter-writer-bench-'));
  try {
    const db = openSqlite(dir);
    db.pragma(`wal_autocheckpoint = ${CHECKPOINT_PAGES}`);
    prepare?.(db);
    const writer = new SqliteLogWriter(db);
    const indexer = new SqliteSearchIndexer(db);
    let now = Date.now();
    const conversations = [];
    for (let i = 0; i < pairs; i++) {
      const [r] = writer.commit([{ kind: 'create_direct', userId: `a${i}`, peerId: `b${i}` }], now);
      conversations.push({ id: r.value.conversationId, a: `a${i}`, b: `b${i}` });
    }
    const spent = new Map();
    if (phases) timeStatements(writer, spent);
    const body = 'x'.repeat(100);
    let n = 0;
    const nextOps = () =>
      Array.from({ length: batch }, () => {
        const c = conversations[n % conversations.length];
        const from = Math.floor(n / conversations.length) % 2 === 0 ? c.a : c.b;
        const op = {
          kind: 'append',
          eventKind: 'message',
          conversationId: c.id,
          senderId: from,
          deviceId: null,
          clientMsgId: `m${n}`,
          body,
          refSeq: null,
          metadata: null,
        };
        n++;
        return op;
      });
    const commitAll = (count) => {
      for (let sent = 0; sent < count; sent += batch) {
        const results = writer.commit(nextOps(), ++now);
        if (!results.every((r) => r.ok))
          throw new Error(`a write failed: ${JSON.stringify(results.find((r) => !r.ok))}`);
      }
    };
    // Warm-up: caches, statement plans, the first checkpoints.
    commitAll(Math.min(5000, Math.floor(messages / 5)));
    indexer.catchUp();
    spent.clear();

    const commits = measured(() => commitAll(messages), messages);
    const indexing = measured(() => indexer.catchUp(), messages);
    db.close();
    return {
      batch,
      messages,
      pairs,
      commit: commits,
      index: indexing,
      phases: Object.fromEntries(
        [...spent.entries()]
          .sort((x, y) => Number(y[1] - x[1]))
          .map(([k, v]) => [k, Number(v) / 1000 / messages]),
      ),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Wall and CPU time of `work`, in µs per message. */
function measured(work, messages) {
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  work();
  const wallNs = process.hrtime.bigint() - started;
  const used = process.cpuUsage(cpu);
  return { wallUs: Number(wallNs) / 1000 / messages, cpuUs: (used.user + used.system) / messages };
}

/** Wraps each of the writer's prepared statements to add its time to `spent` under its name. */
function timeStatements(writer, spent) {
  for (const [name, statement] of Object.entries(writer.sql)) {
    for (const method of ['run', 'get', 'all']) {
      const original = statement[method]?.bind(statement);
      if (!original) continue;
      statement[method] = (...params) => {
        const t = process.hrtime.bigint();
        try {
          return original(...params);
        } finally {
          spent.set(name, (spent.get(name) ?? 0n) + (process.hrtime.bigint() - t));
        }
      };
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values: args } = parseArgs({
    options: {
      batch: { type: 'string', default: '100' },
      messages: { type: 'string', default: '50000' },
      pairs: { type: 'string', default: '500' },
    },
  });
  const options = { batch: Number(args.batch), messages: Number(args.messages), pairs: Number(args.pairs) };
  const plain = measureWriter({ ...options, phases: false });
  const split = measureWriter({ ...options, phases: true });
  console.log(JSON.stringify({ ...plain, phases: split.phases }, null, 2));
}
