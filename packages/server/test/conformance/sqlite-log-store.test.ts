import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { createLogger } from '../../src/log.js';
import type { PushStore } from '../../src/push/push-store.js';
import type { AccountStore } from '../../src/store/account-store.js';
import type { LogStore } from '../../src/store/log-store.js';
import type { MessageSearch } from '../../src/store/message-search.js';
import { openSqlite } from '../../src/store/sqlite/sqlite-database.js';
import { openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';
import type { WriteOp } from '../../src/store/write-ops.js';
import type { WebhookStore } from '../../src/webhooks/webhook-store.js';
import { describeAnnotationsConformance } from './annotations.conformance.js';
import { describeChannelsConformance } from './channels.conformance.js';
import { describeHiddenConformance } from './hidden.conformance.js';
import { describeLogStoreConformance } from './log-store.conformance.js';
import { describePushQueueConformance } from './push-queue.conformance.js';
import { describeSearchConformance } from './search.conformance.js';
import { message, okOf, run, uid } from './store-ops.js';
import { describeThreadsConformance } from './threads.conformance.js';
import { describeUsersConformance } from './users.conformance.js';
import { describeWebhookQueueConformance } from './webhook-queue.conformance.js';

interface Opened {
  /** A connection opened exactly as the stores open theirs (reader and writer thread alike). */
  db: Database.Database;
  store: LogStore;
  accounts: AccountStore;
  search: MessageSearch;
  pushStore: PushStore;
  webhookStore: WebhookStore;
  close(): Promise<void>;
}

function openAt(dir: string, clock?: Clock): Opened {
  const stores = openSqliteStores(dir, createLogger('silent'), undefined, clock);
  const db = openSqlite(dir);
  return {
    db,
    search: stores.messageSearch,
    store: stores.logStore,
    accounts: stores.accountStore,
    pushStore: stores.pushStore,
    webhookStore: stores.webhookStore,
    async close() {
      await stores.close();
      db.close();
    },
  };
}

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'natter-conformance-'));
}

/** Stores in a directory of their own, removed on close: a conformance suite's handle. */
async function openInTempDir(options: { clock?: Clock } = {}): Promise<Opened> {
  const dir = await tempDir();
  const opened = openAt(dir, options.clock);
  return {
    ...opened,
    async close() {
      await opened.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describeLogStoreConformance('SQLite', openInTempDir);

describeAnnotationsConformance('SQLite', openInTempDir);

describeSearchConformance('SQLite', openInTempDir);

describeThreadsConformance('SQLite', openInTempDir);

describeHiddenConformance('SQLite', openInTempDir);

describeChannelsConformance('SQLite', openInTempDir);

describeUsersConformance('SQLite', openInTempDir);

describePushQueueConformance('SQLite', openInTempDir);

describeWebhookQueueConformance('SQLite', openInTempDir);

describe('SQLite log store specifics', () => {
  const dirs: string[] = [];
  const open: Opened[] = [];

  afterEach(async () => {
    for (const o of open.splice(0)) await o.close();
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  async function fresh(): Promise<{ dir: string; opened: Opened }> {
    const dir = await tempDir();
    dirs.push(dir);
    const opened = openAt(dir);
    open.push(opened);
    return { dir, opened };
  }

  it('opens the database in WAL mode with synchronous=FULL', async () => {
    const { dir, opened } = await fresh();
    expect(opened.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(opened.db.pragma('synchronous', { simple: true })).toBe(2);
    await opened.close();
    const again = openAt(dir);
    open.push(again);
    expect(again.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(again.db.pragma('synchronous', { simple: true })).toBe(2);
  });

  it('keeps everything across closing and reopening the same directory', async () => {
    const { dir, opened } = await fresh();
    const { store, accounts } = opened;
    const alice = `alice-${randomUUID()}`;
    const bob = `bob-${randomUUID()}`;
    const direct = okOf(
      (await store.commit([{ kind: 'create_direct', userId: alice, peerId: bob }]))[0],
    ).conversationId;
    const group = okOf(
      (await store.commit([{ kind: 'create_group', creatorId: alice, title: 'G', memberIds: [bob] }]))[0],
    ).conversationId;
    const sent = await store.commit([
      message(direct, alice, 'persist me', { clientMsgId: 'cm-1' }),
      message(group, bob, 'and me'),
    ]);
    await store.commit([{ kind: 'cursor', conversationId: direct, userId: bob, delivered: 2, read: 2 }]);
    await accounts.createUser({
      id: alice,
      username: `alice_${randomUUID().slice(0, 8)}`,
      displayName: 'Alice',
      passwordHash: 'h',
      createdAt: 1,
      avatarTag: null,
      bot: false,
    });
    await accounts.createSession({ tokenHash: 'th-1', userId: alice, expiresAt: 99, revokedAt: null });

    const historyBefore = await store.fetchAfter(bob, direct, 0, 100);
    const summaryBefore = await store.conversationFor(alice, direct);
    const membersBefore = await store.membersFor(alice, group);
    const positionBefore = await store.latestPosition(alice);
    const userBefore = await accounts.userById(alice);
    await store.close();

    const reopened = openAt(dir);
    open.push(reopened);
    expect(await reopened.store.fetchAfter(bob, direct, 0, 100)).toEqual(historyBefore);
    expect(await reopened.store.conversationFor(alice, direct)).toEqual(summaryBefore);
    expect(await reopened.store.membersFor(alice, group)).toEqual(membersBefore);
    expect(await reopened.store.latestPosition(alice)).toBe(positionBefore);
    expect(await reopened.accounts.userById(alice)).toEqual(userBefore);
    expect(await reopened.accounts.sessionByTokenHash('th-1')).toEqual({
      tokenHash: 'th-1',
      userId: alice,
      expiresAt: 99,
      revokedAt: null,
    });

    // The same pair finds the same conversation; a retry is still a duplicate; seqs and positions continue.
    const again = okOf(
      (await reopened.store.commit([{ kind: 'create_direct', userId: bob, peerId: alice }]))[0],
    );
    expect(again).toMatchObject({ conversationId: direct, duplicate: true });
    const retry = okOf(
      (await reopened.store.commit([message(direct, alice, 'persist me', { clientMsgId: 'cm-1' })]))[0],
    );
    expect(retry.duplicate).toBe(true);
    expect(retry.events).toEqual(okOf(sent[0]).events);
    const next = okOf((await reopened.store.commit([message(direct, bob, 'after reopen')]))[0]);
    expect(next.events[0]?.seq).toBe(3);
    expect(await reopened.store.latestPosition(alice)).toBeGreaterThan(positionBefore);
    const sync = await reopened.store.syncSince(alice, positionBefore, positionBefore, 100, 100);
    expect(sync.events.map((e) => [e.conversation_id, e.seq])).toEqual([[direct, 3]]);
  });

  it('rejects a batch whose transaction fails, and stores nothing of it', async () => {
    const { opened } = await fresh();
    const { store } = opened;
    const alice = `alice-${randomUUID()}`;
    const bob = `bob-${randomUUID()}`;
    const conv = okOf(
      (await store.commit([{ kind: 'create_group', creatorId: alice, title: 'G', memberIds: [bob] }]))[0],
    ).conversationId;
    const position = await store.latestPosition(alice);

    // A body SQLite cannot bind makes the insert throw a non-NatterError: the whole batch fails.
    const unbindable = { ...message(conv, bob, 'x'), body: {} as unknown as string };
    await expect(
      store.commit([
        message(conv, alice, 'would be seq 2', { clientMsgId: 'cm-lost' }),
        { kind: 'create_direct', userId: alice, peerId: bob },
        unbindable,
      ]),
    ).rejects.toThrow();

    expect((await store.fetchAfter(alice, conv, 0, 100))?.events.map((e) => e.seq)).toEqual([1]);
    expect(await store.latestPosition(alice)).toBe(position);
    expect((await store.syncSince(alice, 0, 0, 100, 0)).conversations.map((c) => c.conversation_id)).toEqual([
      conv,
    ]);

    // The writer carries on gap-free, and the lost message was never stored.
    const retried = okOf(
      (await store.commit([message(conv, alice, 'would be seq 2', { clientMsgId: 'cm-lost' })]))[0],
    );
    expect(retried.duplicate).toBe(false);
    expect(retried.events[0]?.seq).toBe(2);
    expect(await store.latestPosition(alice)).toBe(position + 1);
  });

  it('answers a change token and a resume from the per-user change index, whatever the membership count', async () => {
    const { opened } = await fresh();
    const { store, db } = opened;
    const me = uid('busy');
    const peers = Array.from({ length: 20_000 }, (_, i) => uid(`peer${i}`));
    const conversations: string[] = [];
    for (let from = 0; from < peers.length; from += 1000) {
      const ops = peers
        .slice(from, from + 1000)
        .map((peerId): WriteOp => ({ kind: 'create_direct', userId: me, peerId }));
      for (const r of await store.commit(ops)) conversations.push(okOf(r).conversationId);
    }
    const token = await store.latestPosition(me);
    const changed = [3, 10_000, 19_999];
    for (const i of changed) await run(store, message(conversations[i]!, peers[i]!, 'x'));
    // A member who left freezes at their removal: the peer's own group is left behind here.
    const group = okOf(
      (await store.commit([{ kind: 'create_group', creatorId: peers[0]!, title: 'G', memberIds: [me] }]))[0],
    ).conversationId;
    await run(store, { kind: 'remove_member', actorId: me, conversationId: group, userId: me });
    const left = await store.latestPosition(me);
    await run(store, message(group, peers[0]!, 'after I left'));

    expect(await store.latestPosition(me)).toBe(left);
    expect(await store.latestPosition(peers[0]!)).toBe(left + 1);
    const sync = await store.syncSince(me, token, token, 100, 100);
    expect(sync.conversations.map((c) => c.conversation_id)).toEqual([
      ...changed.map((i) => conversations[i]),
      group,
    ]);
    expect(sync.events.filter((e) => e.kind === 'message').map((e) => e.body)).toEqual(['x', 'x', 'x']);
    expect(sync.hasMore).toBe(false);
    expect(sync.position).toBe(left);

    // Both reads are one range of the (user_id, view_pos) index, never a walk of the memberships:
    // the statements the reader prepared, as SQLite plans them.
    const { sql } = (store as unknown as { reader: { sql: Record<string, { source: string }> } }).reader;
    const plan = (statement: { source: string }, ...params: unknown[]) =>
      db
        .prepare(`EXPLAIN QUERY PLAN ${statement.source}`)
        .all(...params)
        .map((row) => (row as { detail: string }).detail);
    expect(plan(sql.latestPosition!, me)).toEqual([
      'SEARCH user_views USING COVERING INDEX user_views_by_change (user_id=?)',
    ]);
    expect(plan(sql.changedViews!, me, token, 100)[0]).toBe(
      'SEARCH v USING COVERING INDEX user_views_by_change (user_id=? AND view_pos>?)',
    );
    // A summary's last message and unread count skip every event that is not a top-level message.
    expect(plan(sql.lastMessage!, conversations[0], 1, 5)).toEqual([
      'SEARCH events USING INDEX events_top_messages (conversation_id=? AND seq>? AND seq<?)',
    ]);
  }, 120_000);
});
