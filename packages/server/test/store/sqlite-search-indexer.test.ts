import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { openSqlite } from '../../src/store/sqlite/sqlite-database.js';
import { SqliteLogWriter } from '../../src/store/sqlite/sqlite-log-writer.js';
import { INDEX_STEP_EVENTS, SqliteSearchIndexer } from '../../src/store/sqlite/sqlite-search-indexer.js';
import { openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';
import type { WriteOp, WriteResult } from '../../src/store/write-ops.js';
import { del, edit, message, okOf, uid } from '../conformance/store-ops.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'natter-indexer-'));
  dirs.push(dir);
  return dir;
}

/** The search documents, as (seq, changed_seq, body) in seq order. */
function docs(db: Database.Database, conversationId: string) {
  return db
    .prepare('SELECT seq, changed_seq, body FROM search_docs WHERE conversation_id = ? ORDER BY seq')
    .all(conversationId);
}

function ftsHits(db: Database.Database, word: string): number {
  return (
    db.prepare('SELECT count(*) AS n FROM search_fts WHERE search_fts MATCH ?').get(word) as { n: number }
  ).n;
}

describe('the search indexer (after the commits, from the log)', () => {
  it('ends in the documents of the log whatever was edited or deleted before it ran', async () => {
    const db = openSqlite(await tempDir());
    const writer = new SqliteLogWriter(db);
    const indexer = new SqliteSearchIndexer(db);
    const [alice, bob] = [uid('alice'), uid('bob')];
    const commit = (ops: WriteOp[]): WriteResult[] => writer.commit(ops, Date.now());
    const conv = okOf(commit([{ kind: 'create_direct', userId: alice, peerId: bob }])[0]).conversationId;
    // Kept, edited twice, deleted, edited then deleted; and a message with no text.
    const seqs = commit([
      message(conv, alice, 'first kept'),
      message(conv, alice, 'draft one'),
      message(conv, bob, 'secret words'),
      message(conv, bob, 'typo here'),
      message(conv, bob, ''),
    ]).map((r) => okOf(r).events[0]!.seq);
    const [kept, drafted, secret, typo] = seqs as [number, number, number, number];
    const later = commit([edit(conv, alice, drafted, 'draft two'), del(conv, bob, secret)]);
    const last = commit([
      edit(conv, alice, drafted, 'final wording'),
      edit(conv, bob, typo, 'typo fixed'),
      del(conv, bob, typo),
    ]);
    for (const r of [...later, ...last]) expect(r.ok).toBe(true);
    const finalEdit = okOf(last[0]).events[0]!.seq;
    expect(indexer.behind).toBe(true);
    expect(docs(db, conv)).toEqual([]);

    indexer.catchUp();

    expect(indexer.behind).toBe(false);
    expect(docs(db, conv)).toEqual([
      { seq: kept, changed_seq: kept, body: 'first kept' },
      { seq: drafted, changed_seq: finalEdit, body: 'final wording' },
    ]);
    expect(ftsHits(db, 'secret')).toBe(0);
    expect(ftsHits(db, 'draft')).toBe(0);
    expect(ftsHits(db, 'wording')).toBe(1);

    // Applied as they come, step by step, the same log ends in the same documents.
    const [carol, dan] = [uid('carol'), uid('dan')];
    const other = okOf(commit([{ kind: 'create_direct', userId: carol, peerId: dan }])[0]).conversationId;
    const hello = okOf(commit([message(other, carol, 'hello there')])[0]).events[0]!.seq;
    indexer.catchUp();
    expect(docs(db, other)).toEqual([{ seq: hello, changed_seq: hello, body: 'hello there' }]);
    const again = okOf(commit([edit(other, carol, hello, 'hello again')])[0]).events[0]!.seq;
    indexer.catchUp();
    expect(docs(db, other)).toEqual([{ seq: hello, changed_seq: again, body: 'hello again' }]);
    commit([del(other, carol, hello)]);
    indexer.catchUp();
    expect(docs(db, other)).toEqual([]);
    db.close();
  });

  it('works in steps of a bounded size and moves its cursor with each', async () => {
    const db = openSqlite(await tempDir());
    const writer = new SqliteLogWriter(db);
    const indexer = new SqliteSearchIndexer(db);
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = okOf(
      writer.commit([{ kind: 'create_direct', userId: alice, peerId: bob }], 1)[0],
    ).conversationId;
    const total = INDEX_STEP_EVENTS * 2 + 5;
    writer.commit(
      Array.from({ length: total }, (_, i) => message(conv, alice, `word${i}`)),
      2,
    );
    expect(indexer.step()).toBe(INDEX_STEP_EVENTS);
    expect(docs(db, conv)).toHaveLength(INDEX_STEP_EVENTS);
    expect(indexer.step()).toBe(INDEX_STEP_EVENTS);
    expect(indexer.step()).toBe(5);
    expect(indexer.behind).toBe(false);
    expect(indexer.step()).toBe(0);
    expect(docs(db, conv)).toHaveLength(total);
    db.close();
  });

  it('indexes in the background after commits, and catches up on what a crash left behind at start', async () => {
    const dir = await tempDir();
    const log = createLogger('silent');
    const [alice, bob] = [uid('alice'), uid('bob')];
    let stores = openSqliteStores(dir, log);
    const conv = okOf(
      (await stores.logStore.commit([{ kind: 'create_direct', userId: alice, peerId: bob }]))[0],
    ).conversationId;
    await stores.logStore.commit([message(conv, alice, 'background indexing works')]);
    const db = openSqlite(dir);
    const cursor = () =>
      (db.prepare(`SELECT value FROM meta WHERE key = 'search_pos'`).get() as { value: number }).value;
    const position = () =>
      (db.prepare(`SELECT value FROM meta WHERE key = 'position'`).get() as { value: number }).value;
    // No search asked for it: the writer thread indexes on its own, right after the commit.
    for (let i = 0; i < 200 && cursor() < position(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(cursor()).toBe(position());
    const indexed = docs(db, conv);
    expect(indexed).toMatchObject([{ body: 'background indexing works' }]);
    await stores.close();

    // As if the process died after commits and before their indexing step.
    db.exec(`DELETE FROM search_docs; UPDATE meta SET value = 0 WHERE key = 'search_pos'`);
    stores = openSqliteStores(dir, log);
    await stores.whenReady();
    for (let i = 0; i < 200 && cursor() < position(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(docs(db, conv)).toEqual(indexed);
    const page = await stores.messageSearch.search({
      userId: bob,
      terms: [{ word: 'background', prefix: false }],
      offset: 0,
      limit: 10,
      timeoutMs: 5_000,
    });
    expect(page.matches.map((m) => m.body)).toEqual(['background indexing works']);
    await stores.close();
    db.close();
  });
});
