import { randomUUID } from 'node:crypto';
import { type ChatEvent, type ConversationSummary, NatterError, type Role } from '@natter/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Clock, systemClock } from '../../src/clock.js';
import type { AccountStore, UserRecord } from '../../src/store/account-store.js';
import type { LogStore, SyncPage } from '../../src/store/log-store.js';
import type { AppendOp, CursorOp, WriteOp, WriteResult } from '../../src/store/write-ops.js';
import {
  createDirect,
  createGroup,
  del,
  edit,
  errorOf,
  ids,
  message,
  okOf,
  only,
  range,
  reject,
  run,
  send,
  summary,
  uid,
  unknownConversation,
} from './store-ops.js';

/**
 * The LogStore / AccountStore port contract as an executable suite. It talks to the stores only
 * through their interfaces (no SQL), so every adapter (SQLite today, PostgreSQL later) runs the
 * same tests. Every test uses fresh, unique user ids, so an adapter may share one database across
 * tests; positions are only ever compared with each other, never with absolute values.
 */
export interface LogStoreHandle {
  store: LogStore;
  accounts: AccountStore;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// helpers

async function rejectCode(store: LogStore, op: WriteOp): Promise<string> {
  return (await reject(store, op)).code;
}

function cursor(
  conversationId: string,
  userId: string,
  read: number | null,
  delivered: number | null = null,
): CursorOp {
  return { kind: 'cursor', conversationId, userId, read, delivered };
}

async function setRole(store: LogStore, conversationId: string, actorId: string, userId: string, role: Role) {
  return run(store, { kind: 'set_role', actorId, conversationId, userId, role });
}

/** Every event `userId` may see, paged through fetchAfter. */
async function allEvents(store: LogStore, userId: string, conversationId: string): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  let after = 0;
  for (;;) {
    const page = await store.fetchAfter(userId, conversationId, after, 50);
    if (!page) throw new Error(`fetchAfter returned null for ${userId} in ${conversationId}`);
    out.push(...page.events);
    if (!page.hasMore) return out;
    const last = page.events.at(-1);
    if (!last) throw new Error('hasMore with an empty page');
    after = last.seq;
  }
}

function seqs(events: ChatEvent[]): number[] {
  return events.map((e) => e.seq);
}

function convIds(page: SyncPage): string[] {
  return page.conversations.map((c) => c.conversation_id);
}

function seqsIn(page: SyncPage, conversationId: string): number[] {
  return page.events.filter((e) => e.conversation_id === conversationId).map((e) => e.seq);
}

function summaryIn(page: SyncPage, conversationId: string): ConversationSummary {
  const found = page.conversations.filter((c) => c.conversation_id === conversationId);
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** Follows syncSince pages until hasMore is false, keeping the events cursor at `since`. */
async function syncAll(
  store: LogStore,
  userId: string,
  since: number,
  limit: number,
  eventsPerConversation: number,
): Promise<{ pages: SyncPage[]; position: number }> {
  const pages: SyncPage[] = [];
  let position = since;
  for (let i = 0; i < 1000; i++) {
    const page = await store.syncSince(userId, position, since, limit, eventsPerConversation);
    pages.push(page);
    expect(page.position).toBeGreaterThanOrEqual(position);
    position = page.position;
    if (!page.hasMore) return { pages, position };
  }
  throw new Error('syncSince never finished paging');
}

// ---------------------------------------------------------------------------------------------

/** Opens an adapter's stores; `clock`, when given, is the time they stamp events with. */
export type OpenLogStore = (options?: { clock?: Clock }) => Promise<LogStoreHandle>;

export function describeLogStoreConformance(name: string, open: OpenLogStore): void {
  describe(`LogStore conformance: ${name}`, () => {
    let handle: LogStoreHandle;
    let store: LogStore;
    let accounts: AccountStore;

    beforeEach(async () => {
      handle = await open();
      store = handle.store;
      accounts = handle.accounts;
    });

    afterEach(async () => {
      await handle.close();
    });

    describe('creating conversations', () => {
      it('create_direct is idempotent for the same pair, in either order, and distinct per pair', async () => {
        const [alice, bob, carol] = ids('alice', 'bob', 'carol');
        const first = await run(store, { kind: 'create_direct', userId: alice, peerId: bob });
        expect(first.duplicate).toBe(false);
        expect(first.events.map((e) => [e.seq, e.kind, e.sender_id])).toEqual([[1, 'created', alice]]);
        expect(first.events[0]!.conversation_id).toBe(first.conversationId);

        const again = await run(store, { kind: 'create_direct', userId: alice, peerId: bob });
        const reversed = await run(store, { kind: 'create_direct', userId: bob, peerId: alice });
        expect(again.conversationId).toBe(first.conversationId);
        expect(again.duplicate).toBe(true);
        expect(reversed.conversationId).toBe(first.conversationId);
        expect(reversed.duplicate).toBe(true);

        const ac = await run(store, { kind: 'create_direct', userId: alice, peerId: carol });
        const bc = await run(store, { kind: 'create_direct', userId: carol, peerId: bob });
        expect(ac.duplicate).toBe(false);
        expect(bc.duplicate).toBe(false);
        expect(new Set([first.conversationId, ac.conversationId, bc.conversationId]).size).toBe(3);

        // Still a single created event, and alice sees exactly two conversations.
        expect(seqs(await allEvents(store, alice, first.conversationId))).toEqual([1]);
        const sync = await store.syncSince(alice, 0, 0, 100, 0);
        expect(convIds(sync).sort()).toEqual([first.conversationId, ac.conversationId].sort());

        const mine = await summary(store, alice, first.conversationId);
        expect(mine).toMatchObject({
          conversation_id: first.conversationId,
          kind: 'direct',
          title: null,
          peer_id: bob,
          member_count: 2,
          last_seq: 1,
          joined_seq: 1,
          left_seq: null,
        });
        expect((await summary(store, bob, first.conversationId)).peer_id).toBe(alice);
      });

      it('create_direct twice for the same pair in one commit makes one conversation', async () => {
        const [alice, bob] = ids('alice', 'bob');
        const results = await store.commit([
          { kind: 'create_direct', userId: alice, peerId: bob },
          { kind: 'create_direct', userId: bob, peerId: alice },
        ]);
        const [a, b] = results.map(okOf);
        expect(a!.duplicate).toBe(false);
        expect(b!.duplicate).toBe(true);
        expect(b!.conversationId).toBe(a!.conversationId);
        expect(seqs(await allEvents(store, bob, a!.conversationId))).toEqual([1]);
      });

      it('a direct conversation with yourself has one member and you as its peer', async () => {
        const [alice] = ids('alice');
        const id = await createDirect(store, alice, alice);
        const s = await summary(store, alice, id);
        expect(s.peer_id).toBe(alice);
        expect(s.member_count).toBe(1);
        expect((await store.membersFor(alice, id))!.map((m) => m.user_id)).toEqual([alice]);
        expect(
          (await run(store, { kind: 'create_direct', userId: alice, peerId: alice })).conversationId,
        ).toBe(id);
      });

      it('create_group makes the creator owner and everyone else a member', async () => {
        const [owner, bob, carol] = ids('owner', 'bob', 'carol');
        const created = await run(store, {
          kind: 'create_group',
          creatorId: owner,
          title: 'Team',
          memberIds: [bob, carol, owner, bob],
        });
        expect(created.duplicate).toBe(false);
        const event = only(created);
        expect(event).toMatchObject({ seq: 1, kind: 'created', sender_id: owner, deleted: false });
        expect(event.data?.title).toBe('Team');
        expect([...(event.data?.member_ids ?? [])].sort()).toEqual([owner, bob, carol].sort());

        const members = await store.membersFor(owner, created.conversationId);
        expect(members).not.toBeNull();
        const roles = Object.fromEntries(members!.map((m) => [m.user_id, m.role]));
        expect(roles).toEqual({ [owner]: 'owner', [bob]: 'member', [carol]: 'member' });
        expect(members!.every((m) => m.joined_seq === 1)).toBe(true);

        const s = await summary(store, bob, created.conversationId);
        expect(s).toMatchObject({
          kind: 'group',
          title: 'Team',
          peer_id: null,
          role: 'member',
          member_count: 3,
          last_seq: 1,
          joined_seq: 1,
          left_seq: null,
        });
        expect((await summary(store, owner, created.conversationId)).role).toBe('owner');

        // A second group with the same title and members is a different conversation.
        const other = await createGroup(store, owner, [bob, carol], 'Team');
        expect(other).not.toBe(created.conversationId);
      });
    });

    describe('append', () => {
      it('stamps the events of a commit with the stores’ clock (so tests can seed history on other days)', async () => {
        const past = Date.UTC(2024, 1, 29, 9, 30);
        const stamped = await open({ clock: { ...systemClock, now: () => past } });
        try {
          const [alice, bob] = ids('alice', 'bob');
          const conv = await createGroup(stamped.store, alice, [bob]);
          const sent = await send(stamped.store, conv, alice, 'from a leap day');
          expect(sent.created_at).toBe(past);
          expect((await allEvents(stamped.store, bob, conv)).map((e) => e.created_at)).toEqual([past, past]);
          expect((await summary(stamped.store, bob, conv)).updated_at).toBe(past);
        } finally {
          await stamped.close();
        }
      });

      it('assigns seq 1, 2, 3, ... gap-free, seq 1 being the created event', async () => {
        const [alice, bob] = ids('alice', 'bob');
        const conv = await createGroup(store, alice, [bob]);
        const a = only(
          await run(store, message(conv, alice, 'one', { clientMsgId: 'cm-1', deviceId: 'dev-a' })),
        );
        expect(a).toMatchObject({
          conversation_id: conv,
          seq: 2,
          kind: 'message',
          sender_id: alice,
          device_id: 'dev-a',
          client_msg_id: 'cm-1',
          body: 'one',
          ref_seq: null,
          deleted: false,
        });
        expect(typeof a.created_at).toBe('number');
        const b = await send(store, conv, bob, 'two');
        const c = await send(store, conv, alice, 'three');
        expect([b.seq, c.seq]).toEqual([3, 4]);

        const history = await allEvents(store, bob, conv);
        expect(seqs(history)).toEqual([1, 2, 3, 4]);
        expect(history.map((e) => e.kind)).toEqual(['created', 'message', 'message', 'message']);
        expect(history.map((e) => e.body)).toEqual([null, 'one', 'two', 'three']);
        expect(history[1]).toEqual(a);

        // Each conversation has its own sequence.
        const other = await createDirect(store, alice, bob);
        expect((await send(store, other, bob)).seq).toBe(2);
        expect((await send(store, conv, bob)).seq).toBe(5);
      });

      it('is idempotent on (conversation, sender, client_msg_id)', async () => {
        const [alice, bob] = ids('alice', 'bob');
        const conv = await createDirect(store, alice, bob);
        const first = await run(store, message(conv, alice, 'hello', { clientMsgId: 'cm-dup' }));
        expect(first.duplicate).toBe(false);
        const original = only(first);

        await send(store, conv, bob, 'in between');
        const retry = await run(store, message(conv, alice, 'hello', { clientMsgId: 'cm-dup' }));
        expect(retry.duplicate).toBe(true);
        expect(only(retry)).toEqual(original);

        // A retry carrying a different body still returns the original, and stores nothing.
        const changed = await run(store, message(conv, alice, 'changed', { clientMsgId: 'cm-dup' }));
        expect(changed.duplicate).toBe(true);
        expect(only(changed)).toEqual(original);

        const history = await allEvents(store, bob, conv);
        expect(seqs(history)).toEqual([1, 2, 3]);
        expect(history.filter((e) => e.client_msg_id === 'cm-dup')).toHaveLength(1);
      });

      it('is idempotent when the duplicate is in the same commit batch', async () => {
        const [alice, bob] = ids('alice', 'bob');
        const conv = await createDirect(store, alice, bob);
        const results = await store.commit([
          message(conv, alice, 'x', { clientMsgId: 'cm-same' }),
          message(conv, alice, 'x', { clientMsgId: 'cm-same' }),
          message(conv, alice, 'y', { clientMsgId: 'cm-other' }),
        ]);
        const [a, b, c] = results.map(okOf);
        expect(a!.duplicate).toBe(false);
        expect(b!.duplicate).toBe(true);
        expect(only(b!)).toEqual(only(a!));
        expect(only(a!).seq).toBe(2);
        expect(only(c!).seq).toBe(3);
        expect(seqs(await allEvents(store, alice, conv))).toEqual([1, 2, 3]);
      });

      it('lets a different sender, or another conversation, reuse the same client_msg_id', async () => {
        const [alice, bob] = ids('alice', 'bob');
        const conv = await createGroup(store, alice, [bob]);
        const other = await createDirect(store, alice, bob);
        const a = await run(store, message(conv, alice, 'from alice', { clientMsgId: 'shared' }));
        const b = await run(store, message(conv, bob, 'from bob', { clientMsgId: 'shared' }));
        const c = await run(store, message(other, alice, 'elsewhere', { clientMsgId: 'shared' }));
        expect([a.duplicate, b.duplicate, c.duplicate]).toEqual([false, false, false]);
        expect(only(a).seq).toBe(2);
        expect(only(b).seq).toBe(3);
        expect(only(b).body).toBe('from bob');
        expect(only(c).seq).toBe(2);
        expect((await allEvents(store, bob, conv)).map((e) => e.body)).toEqual([
          null,
          'from alice',
          'from bob',
        ]);
      });

      it('reports not_found to a non-member exactly as for an unknown conversation, and reads null', async () => {
        const [alice, bob, mallory] = ids('alice', 'bob', 'mallory');
        const conv = await createGroup(store, alice, [bob]);
        const target = await send(store, conv, alice, 'secret');
        const before = await store.latestPosition(alice);
        const unknown = unknownConversation();

        const opsFor = (c: string): WriteOp[] => [
          message(c, mallory, 'let me in', { clientMsgId: 'cm-x' }),
          edit(c, mallory, target.seq, 'x'),
          del(c, mallory, target.seq),
          cursor(c, mallory, 2, 2),
          { kind: 'add_member', actorId: mallory, conversationId: c, userId: mallory, role: 'member' },
          { kind: 'remove_member', actorId: mallory, conversationId: c, userId: bob },
          { kind: 'remove_member', actorId: mallory, conversationId: c, userId: mallory },
          { kind: 'set_role', actorId: mallory, conversationId: c, userId: mallory, role: 'owner' },
          { kind: 'rename', actorId: mallory, conversationId: c, title: 'pwned' },
        ];
        for (const [i, op] of opsFor(conv).entries()) {
          const asStranger = await reject(store, op);
          const asUnknown = await reject(store, opsFor(unknown)[i]!);
          expect(asStranger.code, `${op.kind} by a non-member`).toBe('not_found');
          expect({ code: asStranger.code, message: asStranger.message }).toEqual({
            code: asUnknown.code,
            message: asUnknown.message,
          });
        }
        // A real member gets not_found for an unknown conversation too.
        expect(await rejectCode(store, message(unknown, alice, 'x'))).toBe('not_found');

        for (const [user, c] of [
          [mallory, conv],
          [mallory, unknown],
          [alice, unknown],
        ] as const) {
          expect(await store.fetchAfter(user, c, 0, 10)).toBeNull();
          expect(await store.historyBefore(user, c, null, 10)).toBeNull();
          expect(await store.conversationFor(user, c)).toBeNull();
          expect(await store.membersFor(user, c)).toBeNull();
        }
        const strangerSync = await store.syncSince(mallory, 0, 0, 100, 100);
        expect(strangerSync.conversations).toEqual([]);
        expect(strangerSync.events).toEqual([]);
        expect(await store.latestPosition(mallory)).toBe(0);
        expect(await store.sharingConversationWith(mallory, [alice, bob])).toEqual([]);

        // Nothing was written.
        expect(seqs(await allEvents(store, alice, conv))).toEqual([1, 2]);
        expect(await store.latestPosition(alice)).toBe(before);
        expect((await store.membersFor(alice, conv))!.map((m) => m.user_id).sort()).toEqual(
          [alice, bob].sort(),
        );
        expect((await summary(store, alice, conv)).title).toBe('group');
      });

      it('gives each op of a commit its own result; a failing op affects nothing else', async () => {
        const [alice, bob, mallory] = ids('alice', 'bob', 'mallory');
        const conv = await createGroup(store, alice, [bob]);
        const first = await send(store, conv, alice, 'mine'); // seq 2
        const results = await store.commit([
          message(conv, alice, 'a1'),
          message(conv, mallory, 'intruder'),
          edit(conv, bob, first.seq, 'not yours'),
          cursor(conv, bob, 3),
          message(conv, bob, 'b1'),
          message(unknownConversation(), alice, 'nowhere'),
          { kind: 'add_member', actorId: bob, conversationId: conv, userId: mallory, role: 'member' },
          edit(conv, alice, 999, 'no such message'),
          message(conv, alice, 'a2'),
          { kind: 'create_direct', userId: alice, peerId: mallory },
        ]);
        expect(results).toHaveLength(10);
        expect(only(okOf(results[0])).seq).toBe(3);
        expect(errorOf(results[1]).code).toBe('not_found');
        expect(errorOf(results[2]).code).toBe('forbidden');
        expect(okOf(results[3]).cursor).toMatchObject({ conversationId: conv, userId: bob, readSeq: 3 });
        expect(only(okOf(results[4])).seq).toBe(4);
        expect(errorOf(results[5]).code).toBe('not_found');
        expect(errorOf(results[6]).code).toBe('forbidden');
        expect(errorOf(results[7]).code).toBe('not_found');
        expect(only(okOf(results[8])).seq).toBe(5);
        const direct = okOf(results[9]);
        expect(direct.duplicate).toBe(false);

        const history = await allEvents(store, alice, conv);
        expect(seqs(history)).toEqual([1, 2, 3, 4, 5]);
        expect(history.map((e) => e.body)).toEqual([null, 'mine', 'a1', 'b1', 'a2']);
        expect((await store.membersFor(alice, conv))!.map((m) => m.user_id).sort()).toEqual(
          [alice, bob].sort(),
        );
        expect((await store.conversationFor(mallory, direct.conversationId))?.peer_id).toBe(alice);
      });

      it('keeps the sequence gap-free and every event stored once under many concurrent commits', async () => {
        const senders = Array.from({ length: 8 }, (_, i) => uid(`s${i}`));
        const [creator, ...rest] = senders as [string, ...string[]];
        const convA = await createGroup(store, creator, rest, 'A');
        const convB = await createGroup(store, rest[0]!, senders, 'B');

        const commits: Array<{ key: string[]; conv: string; promise: Promise<WriteResult[]> }> = [];
        const push = (conv: string, ops: AppendOp[]) =>
          commits.push({
            key: ops.map((o) => `${o.conversationId}|${o.senderId}|${o.clientMsgId}`),
            conv,
            promise: store.commit(ops),
          });
        for (const s of senders) {
          for (let k = 0; k < 12; k++)
            push(convA, [message(convA, s, `${s} #${k}`, { clientMsgId: `${s}-${k}` })]);
          push(
            convA,
            [12, 13, 14].map((k) => message(convA, s, `${s} #${k}`, { clientMsgId: `${s}-${k}` })),
          );
          push(convB, [
            message(convB, s, 'b', { clientMsgId: `${s}-b0` }),
            message(convB, s, 'b', { clientMsgId: `${s}-b1` }),
          ]);
          // Concurrent retries of messages that are in flight at the same time.
          push(convA, [message(convA, s, `${s} #0`, { clientMsgId: `${s}-0` })]);
          push(convA, [
            message(convA, s, `${s} #1`, { clientMsgId: `${s}-1` }),
            message(convA, s, `${s} #1`, { clientMsgId: `${s}-1` }),
          ]);
          push(convB, [message(convB, s, 'b', { clientMsgId: `${s}-b0` })]);
        }
        const settled = await Promise.all(commits.map((c) => c.promise));

        const seqByKey = new Map<string, Set<number>>();
        const freshByKey = new Map<string, number>();
        settled.forEach((results, i) => {
          const commit = commits[i]!;
          expect(results).toHaveLength(commit.key.length);
          results.forEach((r, j) => {
            const outcome = okOf(r);
            const key = commit.key[j]!;
            expect(outcome.conversationId).toBe(commit.conv);
            const set = seqByKey.get(key) ?? new Set<number>();
            set.add(only(outcome).seq);
            seqByKey.set(key, set);
            if (!outcome.duplicate) freshByKey.set(key, (freshByKey.get(key) ?? 0) + 1);
          });
        });

        for (const [conv, perSender] of [
          [convA, 15],
          [convB, 2],
        ] as const) {
          const history = await allEvents(store, creator, conv);
          const expected = 1 + senders.length * perSender;
          expect(seqs(history)).toEqual(range(1, expected));
          const messages = history.filter((e) => e.kind === 'message');
          expect(messages).toHaveLength(senders.length * perSender);
          const keys = messages.map((e) => `${conv}|${e.sender_id}|${e.client_msg_id}`);
          expect(new Set(keys).size).toBe(keys.length);
          for (const e of messages) {
            const key = `${conv}|${e.sender_id}|${e.client_msg_id}`;
            expect([...(seqByKey.get(key) ?? [])], key).toEqual([e.seq]);
            expect(freshByKey.get(key), `${key} stored as new exactly once`).toBe(1);
          }
        }
      });
    });

    describe('edit and delete', () => {
      it('lets only the sender edit', async () => {
        const [owner, alice, bob] = ids('owner', 'alice', 'bob');
        const conv = await createGroup(store, owner, [alice, bob]);
        const target = await send(store, conv, alice, 'typo');
        expect(await rejectCode(store, edit(conv, bob, target.seq, 'by bob'))).toBe('forbidden');
        expect(await rejectCode(store, edit(conv, owner, target.seq, 'by owner'))).toBe('forbidden');
        const edited = only(await run(store, edit(conv, alice, target.seq, 'fixed')));
        expect(edited).toMatchObject({
          seq: target.seq + 1,
          kind: 'edit',
          sender_id: alice,
          ref_seq: target.seq,
          body: 'fixed',
          deleted: false,
        });
        // The log keeps the original; the edit supersedes it.
        const history = await allEvents(store, bob, conv);
        expect(history.map((e) => [e.kind, e.body])).toEqual([
          ['created', null],
          ['message', 'typo'],
          ['edit', 'fixed'],
        ]);
        // Only messages can be edited, and only ones that exist.
        expect(await rejectCode(store, edit(conv, alice, 999, 'x'))).toBe('not_found');
        expect(await rejectCode(store, edit(conv, owner, 1, 'x'))).toBe('not_found');
      });

      it('lets the sender or a group admin/owner delete, and no one else', async () => {
        const [owner, admin, alice, bob] = ids('owner', 'admin', 'alice', 'bob');
        const conv = await createGroup(store, owner, [admin, alice, bob]);
        await setRole(store, conv, owner, admin, 'admin');
        const m1 = await send(store, conv, alice, 'one');
        const m2 = await send(store, conv, alice, 'two');
        const m3 = await send(store, conv, bob, 'three');
        const m4 = await send(store, conv, owner, 'four');

        expect(await rejectCode(store, del(conv, bob, m1.seq))).toBe('forbidden');
        expect(only(await run(store, del(conv, alice, m1.seq)))).toMatchObject({
          kind: 'delete',
          sender_id: alice,
          ref_seq: m1.seq,
        });
        expect(only(await run(store, del(conv, admin, m2.seq))).kind).toBe('delete');
        expect(only(await run(store, del(conv, owner, m3.seq))).kind).toBe('delete');
        expect(only(await run(store, del(conv, admin, m4.seq))).kind).toBe('delete');

        // A deleted message can be neither edited nor deleted again.
        expect(await rejectCode(store, edit(conv, alice, m1.seq, 'again'))).toBe('not_found');
        expect(await rejectCode(store, del(conv, alice, m1.seq))).toBe('not_found');

        // In a direct conversation nobody moderates: the peer can neither edit nor delete.
        const direct = await createDirect(store, alice, bob);
        const d = await send(store, direct, alice, 'direct');
        expect(await rejectCode(store, del(direct, bob, d.seq))).toBe('forbidden');
        expect(await rejectCode(store, edit(direct, bob, d.seq, 'x'))).toBe('forbidden');
        expect(only(await run(store, del(direct, alice, d.seq))).kind).toBe('delete');
      });

      it('wipes the body of the deleted message and of its edits', async () => {
        const [alice, bob] = ids('alice', 'bob');
        const conv = await createDirect(store, alice, bob);
        const target = await send(store, conv, alice, 'oops'); // 2
        const keep = await send(store, conv, bob, 'keep me'); // 3
        await run(store, edit(conv, alice, target.seq, 'oops v2')); // 4
        await run(store, edit(conv, alice, target.seq, 'oops v3')); // 5
        await run(store, edit(conv, bob, keep.seq, 'keep me v2')); // 6
        const deletion = only(await run(store, del(conv, alice, target.seq))); // 7
        expect(deletion.seq).toBe(7);

        for (const viewer of [alice, bob]) {
          const history = await allEvents(store, viewer, conv);
          expect(history.map((e) => [e.seq, e.kind, e.body, e.deleted])).toEqual([
            [1, 'created', null, false],
            [2, 'message', null, true],
            [3, 'message', 'keep me', false],
            [4, 'edit', null, true],
            [5, 'edit', null, true],
            [6, 'edit', 'keep me v2', false],
            [7, 'delete', null, false],
          ]);
          expect(history[6]!.ref_seq).toBe(2);
          const page = await store.historyBefore(viewer, conv, null, 10);
          expect(page!.events.filter((e) => e.deleted).map((e) => e.body)).toEqual([null, null, null]);
        }
      });

      it('hides messages from before joining from edit and delete', async () => {
        const [owner, alice, late] = ids('owner', 'alice', 'late');
        const conv = await createGroup(store, owner, [alice]);
        const old = await send(store, conv, alice, 'before you came');
        await run(store, {
          kind: 'add_member',
          actorId: owner,
          conversationId: conv,
          userId: late,
          role: 'admin',
        });
        expect(await rejectCode(store, del(conv, late, old.seq))).toBe('not_found');
        const fresh = await send(store, conv, alice, 'after');
        expect(only(await run(store, del(conv, late, fresh.seq))).kind).toBe('delete');
      });
    });

    describe('cursors', () => {
      it('move only forward, clamp to the last seq, and read implies delivered', async () => {
        const [alice, bob] = ids('alice', 'bob');
        const conv = await createDirect(store, alice, bob);
        for (let i = 0; i < 4; i++) await send(store, conv, alice, `m${i}`); // seqs 2..5

        const none = await run(store, cursor(conv, bob, null, null));
        expect(none).toMatchObject({ conversationId: conv, events: [], duplicate: false, cursor: null });

        const read2 = await run(store, cursor(conv, bob, 2));
        expect(read2.events).toEqual([]);
        expect(read2.cursor).toEqual({ conversationId: conv, userId: bob, deliveredSeq: 2, readSeq: 2 });

        expect((await run(store, cursor(conv, bob, null, 4))).cursor).toEqual({
          conversationId: conv,
          userId: bob,
          deliveredSeq: 4,
          readSeq: 2,
        });
        expect((await run(store, cursor(conv, bob, 3, 3))).cursor).toEqual({
          conversationId: conv,
          userId: bob,
          deliveredSeq: 4,
          readSeq: 3,
        });
        // Backwards or unchanged: nothing moves.
        expect((await run(store, cursor(conv, bob, 2, 1))).cursor).toBeNull();
        expect((await run(store, cursor(conv, bob, 3, 4))).cursor).toBeNull();
        expect((await run(store, cursor(conv, bob, null, 3))).cursor).toBeNull();

        // Beyond the end: clamped to the last seq.
        expect((await run(store, cursor(conv, bob, 999, 999))).cursor).toEqual({
          conversationId: conv,
          userId: bob,
          deliveredSeq: 5,
          readSeq: 5,
        });
        expect((await run(store, cursor(conv, bob, 1000))).cursor).toBeNull();

        const bobRow = (await store.membersFor(alice, conv))!.find((m) => m.user_id === bob)!;
        expect(bobRow).toMatchObject({ delivered_seq: 5, read_seq: 5 });
        expect(await summary(store, bob, conv)).toMatchObject({ read_seq: 5, delivered_seq: 5, unread: 0 });
        expect(await summary(store, alice, conv)).toMatchObject({
          peers_read_seq: 5,
          peers_delivered_seq: 5,
        });

        // A new message can be read again.
        await send(store, conv, alice, 'more');
        expect((await summary(store, bob, conv)).unread).toBe(1);
        expect((await run(store, cursor(conv, bob, 6))).cursor?.readSeq).toBe(6);
      });

      it('follow the messages before them in the same commit, one op after another', async () => {
        const [alice, bob, carol] = ids('alice', 'bob', 'carol');
        const conv = await createDirect(store, alice, bob); // 1
        const results = await store.commit([
          message(conv, alice, 'one'), // 2
          cursor(conv, bob, 5), // clamped to 2: the newest seq so far
          message(conv, alice, 'two'), // 3
          cursor(conv, bob, 1), // backwards: nothing moves
          cursor(conv, bob, null, 9), // delivered clamped to 3
          message(conv, bob, 'three'), // 4: bob has read up to his own message
          cursor(conv, bob, 3), // behind: nothing moves
          cursor(conv, carol, 1), // not a member
          cursor(unknownConversation(), bob, 1),
          cursor(conv, alice, 4), // alice read bob's message
        ]);
        const cursors = results.map((r) => (r.ok ? r.value.cursor : r.error.code));
        expect(cursors).toEqual([
          null,
          { conversationId: conv, userId: bob, deliveredSeq: 2, readSeq: 2 },
          null,
          null,
          { conversationId: conv, userId: bob, deliveredSeq: 3, readSeq: 2 },
          null,
          null,
          'not_found',
          'not_found',
          { conversationId: conv, userId: alice, deliveredSeq: 4, readSeq: 4 },
        ]);
        expect(results.slice(0, 6).map((r) => okOf(r).events.map((e) => e.seq))).toEqual([
          [2],
          [],
          [3],
          [],
          [],
          [4],
        ]);
        const rows = await store.membersFor(alice, conv);
        expect(rows?.find((m) => m.user_id === bob)).toMatchObject({ delivered_seq: 4, read_seq: 4 });
        expect(rows?.find((m) => m.user_id === alice)).toMatchObject({ delivered_seq: 4, read_seq: 4 });
        expect(await summary(store, bob, conv)).toMatchObject({ unread: 0, peers_read_seq: 4 });
      });
    });

    describe('membership', () => {
      it('applies the role rules to add_member, remove_member, set_role and rename', async () => {
        const [owner, admin, m1, m2, newbie, other] = ids('owner', 'admin', 'm1', 'm2', 'newbie', 'other');
        const conv = await createGroup(store, owner, [admin, m1, m2]); // 1

        const promoted = only(await setRole(store, conv, owner, admin, 'admin')); // 2
        expect(promoted).toMatchObject({ kind: 'role_changed', sender_id: owner });
        expect(promoted.data).toMatchObject({ user_id: admin, role: 'admin' });

        expect(
          await rejectCode(store, {
            kind: 'add_member',
            actorId: m1,
            conversationId: conv,
            userId: newbie,
            role: 'member',
          }),
        ).toBe('forbidden');
        expect(
          await rejectCode(store, {
            kind: 'set_role',
            actorId: m1,
            conversationId: conv,
            userId: m2,
            role: 'admin',
          }),
        ).toBe('forbidden');
        expect(
          await rejectCode(store, {
            kind: 'set_role',
            actorId: admin,
            conversationId: conv,
            userId: m1,
            role: 'admin',
          }),
        ).toBe('forbidden');
        expect(
          await rejectCode(store, { kind: 'remove_member', actorId: m1, conversationId: conv, userId: m2 }),
        ).toBe('forbidden');
        expect(
          await rejectCode(store, {
            kind: 'remove_member',
            actorId: admin,
            conversationId: conv,
            userId: owner,
          }),
        ).toBe('forbidden');
        expect(
          await rejectCode(store, { kind: 'rename', actorId: m1, conversationId: conv, title: 'nope' }),
        ).toBe('forbidden');

        const added = only(
          await run(store, {
            kind: 'add_member',
            actorId: admin,
            conversationId: conv,
            userId: newbie,
            role: 'member',
          }),
        ); // 3
        expect(added).toMatchObject({ seq: 3, kind: 'member_added', sender_id: admin });
        expect(added.data).toMatchObject({ user_id: newbie, role: 'member' });

        const again = await run(store, {
          kind: 'add_member',
          actorId: owner,
          conversationId: conv,
          userId: m2,
          role: 'member',
        });
        expect(again.duplicate).toBe(true);
        expect(again.events).toEqual([]);

        const removed = await run(store, {
          kind: 'remove_member',
          actorId: admin,
          conversationId: conv,
          userId: m1,
        }); // 4
        expect(removed.events.map((e) => [e.seq, e.kind, e.data?.user_id])).toEqual([
          [4, 'member_removed', m1],
        ]);

        const renamed = only(
          await run(store, { kind: 'rename', actorId: admin, conversationId: conv, title: 'New' }),
        ); // 5
        expect(renamed).toMatchObject({ seq: 5, kind: 'renamed' });
        expect(renamed.data?.title).toBe('New');
        expect((await summary(store, m2, conv)).title).toBe('New');

        expect(only(await setRole(store, conv, owner, m2, 'admin')).seq).toBe(6);
        const out = await run(store, {
          kind: 'remove_member',
          actorId: owner,
          conversationId: conv,
          userId: admin,
        }); // 7
        expect(out.events.map((e) => e.kind)).toEqual(['member_removed']);
        // Acting on someone who is not a member.
        expect(
          await rejectCode(store, {
            kind: 'set_role',
            actorId: owner,
            conversationId: conv,
            userId: other,
            role: 'admin',
          }),
        ).toBe('not_found');
        expect(
          await rejectCode(store, {
            kind: 'remove_member',
            actorId: owner,
            conversationId: conv,
            userId: other,
          }),
        ).toBe('not_found');

        const members = await store.membersFor(owner, conv);
        expect(Object.fromEntries(members!.map((m) => [m.user_id, [m.role, m.joined_seq]]))).toEqual({
          [owner]: ['owner', 1],
          [m2]: ['admin', 1],
          [newbie]: ['member', 3],
        });
        expect((await summary(store, owner, conv)).member_count).toBe(3);
        expect((await summary(store, m2, conv)).role).toBe('admin');
        expect((await allEvents(store, owner, conv)).map((e) => e.kind)).toEqual([
          'created',
          'role_changed',
          'member_added',
          'member_removed',
          'renamed',
          'role_changed',
          'member_removed',
        ]);
      });

      it('does not let anyone change the members, roles or title of a direct conversation', async () => {
        const [alice, bob, carol] = ids('alice', 'bob', 'carol');
        const conv = await createDirect(store, alice, bob);
        const ops: WriteOp[] = [
          { kind: 'add_member', actorId: alice, conversationId: conv, userId: carol, role: 'member' },
          { kind: 'remove_member', actorId: alice, conversationId: conv, userId: bob },
          { kind: 'remove_member', actorId: bob, conversationId: conv, userId: bob },
          { kind: 'set_role', actorId: alice, conversationId: conv, userId: bob, role: 'admin' },
          { kind: 'set_role', actorId: alice, conversationId: conv, userId: alice, role: 'owner' },
          { kind: 'rename', actorId: alice, conversationId: conv, title: 'us' },
        ];
        for (const op of ops) expect(await rejectCode(store, op), op.kind).toBe('forbidden');
        expect(seqs(await allEvents(store, alice, conv))).toEqual([1]);
        expect(await summary(store, bob, conv)).toMatchObject({
          member_count: 2,
          left_seq: null,
          title: null,
        });
      });

      it('never lets the last owner step down, and treats a role the member already has as a no-op', async () => {
        const [owner, bob] = ids('owner', 'bob');
        const conv = await createGroup(store, owner, [bob]);
        const refused = await store.commit([
          { kind: 'set_role', actorId: owner, conversationId: conv, userId: owner, role: 'admin' },
        ]);
        expect(refused[0]).toMatchObject({ ok: false, error: { code: 'forbidden' } });
        const same = await setRole(store, conv, owner, bob, 'member');
        expect(same).toMatchObject({ duplicate: true, events: [] });
        await setRole(store, conv, owner, bob, 'owner');
        expect((await setRole(store, conv, owner, owner, 'admin')).events[0]!.kind).toBe('role_changed');
      });

      it('hands ownership to the longest-serving admin when the last owner leaves', async () => {
        const [owner, early, admin] = ids('owner', 'early', 'admin');
        const conv = await createGroup(store, owner, [early, admin]);
        await setRole(store, conv, owner, admin, 'admin');
        const ownerLeft = await run(store, {
          kind: 'remove_member',
          actorId: owner,
          conversationId: conv,
          userId: owner,
        });
        expect(ownerLeft.events.map((e) => [e.kind, e.data?.user_id, e.data?.role])).toEqual([
          ['role_changed', admin, 'owner'],
          ['member_left', owner, undefined],
        ]);
        const roles = (await store.membersFor(admin, conv))!.map((m) => [m.user_id, m.role]);
        expect(roles).toEqual(
          expect.arrayContaining([
            [admin, 'owner'],
            [early, 'member'],
          ]),
        );
        expect((await setRole(store, conv, admin, early, 'admin')).events[0]!.kind).toBe('role_changed');
      });

      it('lets any member leave, and keeps the group manageable when its owner leaves', async () => {
        const [owner, bob, carol] = ids('owner', 'bob', 'carol');
        const conv = await createGroup(store, owner, [bob, carol]);
        const left = await run(store, {
          kind: 'remove_member',
          actorId: carol,
          conversationId: conv,
          userId: carol,
        });
        expect(left.events.map((e) => [e.kind, e.sender_id, e.data?.user_id])).toEqual([
          ['member_left', carol, carol],
        ]);
        expect((await summary(store, carol, conv)).left_seq).toBe(left.events[0]!.seq);
        expect(await store.membersFor(carol, conv)).toBeNull();

        const ownerLeft = await run(store, {
          kind: 'remove_member',
          actorId: owner,
          conversationId: conv,
          userId: owner,
        });
        expect(ownerLeft.events.at(-1)!.kind).toBe('member_left');
        const members = await store.membersFor(bob, conv);
        expect(members!.map((m) => [m.user_id, m.role])).toEqual([[bob, 'owner']]);
        expect(
          (
            await run(store, {
              kind: 'add_member',
              actorId: bob,
              conversationId: conv,
              userId: carol,
              role: 'member',
            })
          ).events[0]!.kind,
        ).toBe('member_added');
        expect((await summary(store, bob, conv)).member_count).toBe(2);
      });

      it("shows a removed member nothing of the group's later title, members or cursors", async () => {
        const [owner, bob, carol, dave] = ids('owner', 'bob', 'carol', 'dave');
        const conv = await createGroup(store, owner, [bob, carol], 'Before');
        const removal = await run(store, {
          kind: 'remove_member',
          actorId: owner,
          conversationId: conv,
          userId: carol,
        });
        const removedAt = removal.events[0]!.seq;
        await run(store, { kind: 'rename', actorId: owner, conversationId: conv, title: 'After' });
        await run(store, {
          kind: 'add_member',
          actorId: owner,
          conversationId: conv,
          userId: dave,
          role: 'member',
        });
        await send(store, conv, bob, 'later');
        await run(store, cursor(conv, bob, 99));
        const seen = await summary(store, carol, conv);
        expect(seen).toMatchObject({
          title: 'Before',
          member_count: 2,
          last_seq: removedAt,
          left_seq: removedAt,
        });
        expect(seen.peers_read_seq).toBeLessThanOrEqual(removedAt);
        expect(seen.peers_delivered_seq).toBeLessThanOrEqual(removedAt);
      });

      it('freezes a removed member at the removal: history, fetch and sync stop there', async () => {
        const [alice, bob, carol] = ids('alice', 'bob', 'carol');
        const conv = await createGroup(store, alice, [bob, carol]); // 1
        await send(store, conv, alice, 'before'); // 2
        const beforeRemoval = (await store.syncSince(bob, 0, 0, 100, 0)).position;
        const removal = await run(store, {
          kind: 'remove_member',
          actorId: alice,
          conversationId: conv,
          userId: bob,
        });
        expect(removal.events.map((e) => [e.seq, e.kind, e.data?.user_id])).toEqual([
          [3, 'member_removed', bob],
        ]);
        await send(store, conv, alice, 'after'); // 4
        await send(store, conv, carol, 'after 2'); // 5

        expect(await store.fetchAfter(bob, conv, 0, 100)).toEqual({
          events: expect.any(Array),
          hasMore: false,
        });
        expect(seqs((await store.fetchAfter(bob, conv, 0, 100))!.events)).toEqual([1, 2, 3]);
        expect(await store.fetchAfter(bob, conv, 3, 100)).toEqual({ events: [], hasMore: false });
        expect(seqs((await store.historyBefore(bob, conv, null, 100))!.events)).toEqual([1, 2, 3]);
        expect(seqs((await store.historyBefore(bob, conv, 10, 100))!.events)).toEqual([1, 2, 3]);
        const frozen = await summary(store, bob, conv);
        expect(frozen).toMatchObject({ last_seq: 3, left_seq: 3, joined_seq: 1 });
        expect(frozen.last_message?.seq).toBe(2);
        expect(await store.membersFor(bob, conv)).toBeNull();
        expect((await store.membersFor(alice, conv))!.map((m) => m.user_id).sort()).toEqual(
          [alice, carol].sort(),
        );
        expect((await summary(store, alice, conv)).member_count).toBe(2);

        // Sync shows the conversation once, with left_seq, and events up to the removal only.
        const once = await store.syncSince(bob, beforeRemoval, beforeRemoval, 100, 100);
        expect(convIds(once)).toEqual([conv]);
        expect(summaryIn(once, conv)).toMatchObject({ left_seq: 3, last_seq: 3 });
        expect(seqsIn(once, conv)).toEqual([3]);
        expect(once.position).toBe(await store.latestPosition(bob));

        await send(store, conv, alice, 'later');
        await run(store, cursor(conv, carol, 6));
        const after = await store.syncSince(bob, once.position, once.position, 100, 100);
        expect(after.conversations).toEqual([]);
        expect(after.events).toEqual([]);
        expect(after.position).toBe(once.position);
        expect(await store.latestPosition(bob)).toBe(once.position);

        const fromScratch = await store.syncSince(bob, 0, 0, 100, 100);
        expect(summaryIn(fromScratch, conv).left_seq).toBe(3);
        expect(seqsIn(fromScratch, conv)).toEqual([1, 2, 3]);

        // They can no longer write.
        expect(await rejectCode(store, message(conv, bob, 'let me back'))).toBe('not_found');
        expect(await rejectCode(store, cursor(conv, bob, 3))).toBe('not_found');
        expect(await store.sharingConversationWith(alice, [bob, carol])).toEqual([carol]);
      });

      it('shows a re-added member the conversation from the new joined_seq', async () => {
        const [alice, bob] = ids('alice', 'bob');
        const conv = await createGroup(store, alice, [bob]); // 1
        await send(store, conv, bob, 'first stint'); // 2
        await run(store, { kind: 'remove_member', actorId: alice, conversationId: conv, userId: bob }); // 3
        const whileOut = (await store.syncSince(bob, 0, 0, 100, 0)).position;
        await send(store, conv, alice, 'while bob was away'); // 4
        const readded = only(
          await run(store, {
            kind: 'add_member',
            actorId: alice,
            conversationId: conv,
            userId: bob,
            role: 'member',
          }),
        ); // 5
        expect(readded.seq).toBe(5);
        await send(store, conv, alice, 'welcome back'); // 6

        expect(await summary(store, bob, conv)).toMatchObject({ joined_seq: 5, left_seq: null, last_seq: 6 });
        expect(seqs(await allEvents(store, bob, conv))).toEqual([5, 6]);
        const newest = await store.historyBefore(bob, conv, null, 100);
        expect(seqs(newest!.events)).toEqual([5, 6]);
        expect(newest!.hasMore).toBe(false);
        expect(await store.historyBefore(bob, conv, 5, 100)).toEqual({ events: [], hasMore: false });

        const sync = await store.syncSince(bob, whileOut, whileOut, 100, 100);
        expect(convIds(sync)).toEqual([conv]);
        expect(seqsIn(sync, conv)).toEqual([5, 6]);
        expect(summaryIn(sync, conv).left_seq).toBeNull();

        const members = await store.membersFor(bob, conv);
        expect(members!.find((m) => m.user_id === bob)?.joined_seq).toBe(5);
        const spans = await store.memberSpans(conv);
        expect(spans.spans.find((s) => s.userId === bob)).toMatchObject({ joinedSeq: 5, leftSeq: null });
        expect((await send(store, conv, bob, 'hi again')).seq).toBe(7);
      });
    });

    describe('syncSince', () => {
      it('with since 0 and no events lists every conversation with its summary', async () => {
        const [alice, bob, carol, dave] = ids('alice', 'bob', 'carol', 'dave');
        const direct = await createDirect(store, alice, bob); // 1
        await send(store, direct, bob, 'b2'); // 2
        await send(store, direct, alice, 'a3'); // 3
        await run(store, cursor(direct, alice, 3));
        await send(store, direct, bob, 'b4'); // 4
        const b5 = await send(store, direct, bob, 'b5'); // 5
        await run(store, cursor(direct, bob, 5));

        const group = await createGroup(store, alice, [bob, carol], 'G'); // 1
        await run(store, {
          kind: 'add_member',
          actorId: alice,
          conversationId: group,
          userId: dave,
          role: 'member',
        }); // 2
        const c3 = await send(store, group, carol, 'c3'); // 3
        await send(store, group, carol, 'c4'); // 4
        const d5 = await send(store, group, dave, 'd5'); // 5
        await run(store, edit(group, carol, c3.seq, 'c3 edited')); // 6
        await run(store, cursor(group, bob, 3));
        await run(store, cursor(group, carol, 6));
        await run(store, cursor(group, dave, 5));

        // A conversation alice is not in.
        const elsewhere = await createDirect(store, bob, carol);
        await send(store, elsewhere, carol, 'not for alice');

        const page = await store.syncSince(alice, 0, 0, 100, 0);
        expect(convIds(page).sort()).toEqual([direct, group].sort());
        expect(page.events).toEqual([]);
        expect(page.truncated).toEqual([]);
        expect(page.hasMore).toBe(false);
        expect(page.position).toBe(await store.latestPosition(alice));

        const d = summaryIn(page, direct);
        expect(d).toMatchObject({
          kind: 'direct',
          peer_id: bob,
          role: 'member',
          member_count: 2,
          last_seq: 5,
          joined_seq: 1,
          left_seq: null,
          read_seq: 3,
          unread: 2,
          peers_read_seq: 5,
          peers_delivered_seq: 5,
        });
        expect(d.last_message).toEqual(b5);

        const g = summaryIn(page, group);
        expect(g).toMatchObject({
          kind: 'group',
          title: 'G',
          peer_id: null,
          role: 'owner',
          member_count: 4,
          last_seq: 6,
          joined_seq: 1,
          left_seq: null,
          unread: 3,
          peers_read_seq: 3,
          peers_delivered_seq: 3,
        });
        expect(g.last_message).toEqual(d5);

        const bobView = await summary(store, bob, direct);
        expect(bobView).toMatchObject({ unread: 0, read_seq: 5, peers_read_seq: 3 });
        expect((await summary(store, dave, group)).joined_seq).toBe(2);
      });

      it('from a position returns only changed conversations and exactly the events after it', async () => {
        const [alice, bob, carol] = ids('alice', 'bob', 'carol');
        const direct = await createDirect(store, alice, bob);
        const group = await createGroup(store, alice, [bob, carol]);
        const quiet = await createGroup(store, alice, [carol]);
        await send(store, direct, bob, 'old');
        await send(store, quiet, alice, 'old');
        const p0 = (await store.syncSince(alice, 0, 0, 100, 0)).position;

        const fresh: ChatEvent[] = [];
        for (let i = 0; i < 3; i++) fresh.push(await send(store, direct, bob, `new ${i}`));
        const notAlice = await createDirect(store, bob, carol);
        await send(store, notAlice, bob, 'private');

        const page = await store.syncSince(alice, p0, p0, 100, 10);
        expect(convIds(page)).toEqual([direct]);
        expect(page.events).toEqual(fresh);
        expect(page.truncated).toEqual([]);
        expect(page.hasMore).toBe(false);
        expect(page.position).toBeGreaterThan(p0);
        expect(page.position).toBe(await store.latestPosition(alice));

        // Nothing new: nothing listed, the position stays.
        const idle = await store.syncSince(alice, page.position, page.position, 100, 10);
        expect(idle).toEqual({
          conversations: [],
          events: [],
          truncated: [],
          hidden: [],
          position: page.position,
          hasMore: false,
        });

        // A cursor move by someone else is a change too (peers_read_seq), without events; a cursor
        // op that moves nothing is no change.
        await run(store, cursor(group, bob, 1));
        await run(store, cursor(quiet, carol, 2));
        const receipts = await store.syncSince(alice, page.position, page.position, 100, 10);
        expect(convIds(receipts)).toEqual([quiet]);
        expect(receipts.events).toEqual([]);
        expect(summaryIn(receipts, quiet).peers_read_seq).toBe(2);

        // Membership events are events: carol renamed out of nothing, then a message.
        await run(store, { kind: 'rename', actorId: alice, conversationId: group, title: 'renamed' });
        const m = await send(store, group, carol, 'hello');
        const next = await store.syncSince(alice, receipts.position, receipts.position, 100, 10);
        expect(convIds(next)).toEqual([group]);
        expect(next.events.map((e) => e.kind)).toEqual(['renamed', 'message']);
        expect(next.events.at(-1)).toEqual(m);
        expect(summaryIn(next, group).title).toBe('renamed');
      });

      it("stores a message's metadata as sent, returns it everywhere, and wipes it with the message", async () => {
        const [alice, bob] = ids('alice', 'bob');
        const conv = await createDirect(store, alice, bob);
        const p0 = (await store.syncSince(bob, 0, 0, 100, 0)).position;
        const metadata = { kind: 'poll', options: ['a', 'b'], nested: { n: 1, ok: true, none: null } };
        const sent = only(await run(store, { ...message(conv, alice, 'vote'), metadata }));
        expect(sent.data).toEqual({ metadata });
        const plain = await send(store, conv, alice, 'plain');
        expect(plain.data).toBeNull();
        expect(
          (await store.fetchAfter(bob, conv, 0, 10))?.events.find((e) => e.seq === sent.seq)?.data,
        ).toEqual({
          metadata,
        });
        expect(
          (await store.syncSince(bob, p0, p0, 100, 10)).events.find((e) => e.seq === sent.seq)?.data,
        ).toEqual({
          metadata,
        });
        // A retry returns the original, whatever metadata it carries.
        const retry = await run(store, {
          ...message(conv, alice, 'vote', { clientMsgId: sent.client_msg_id! }),
          metadata: { other: 1 },
        });
        expect(retry.duplicate).toBe(true);
        await run(store, del(conv, alice, sent.seq));
        const after = (await store.historyBefore(bob, conv, null, 10))?.events.find(
          (e) => e.seq === sent.seq,
        );
        expect(after).toMatchObject({ body: null, data: null, deleted: true });
      });

      it("stores a message's attachment references, returns them in history, and wipes them with the message", async () => {
        const [alice, bob] = ids('alice', 'bob');
        const conv = await createDirect(store, alice, bob);
        const attachments = [
          { id: 'att_0123456789abcdef', name: 'cat.png', type: 'image/png', size: 70, width: 3, height: 2 },
          { id: 'att_fedcba9876543210', name: 'notes.txt', type: 'text/plain', size: 5 },
        ];
        const sent = only(await run(store, { ...message(conv, alice, 'files'), attachments }));
        expect(sent.data).toEqual({ attachments });
        const seen = (await store.historyBefore(bob, conv, null, 10))?.events.find((e) => e.seq === sent.seq);
        expect(seen?.data).toEqual({ attachments });
        await run(store, del(conv, alice, sent.seq));
        const after = (await store.fetchAfter(bob, conv, 0, 10))?.events.find((e) => e.seq === sent.seq);
        expect(after).toMatchObject({ body: null, data: null, deleted: true });
      });

      it('leaves out the events a client says it holds, and nothing else', async () => {
        const [alice, bob, carol] = ids('alice', 'bob', 'carol');
        const many = await createGroup(store, alice, [bob], 'many');
        const other = await createGroup(store, alice, [bob], 'other');
        const notAlice = await createDirect(store, bob, carol);
        const p0 = (await store.syncSince(alice, 0, 0, 100, 0)).position;
        for (let i = 0; i < 5; i++) await send(store, many, bob, `m${i}`); // 2..6
        await send(store, other, bob, 'o'); // 2
        await send(store, notAlice, bob, 'private'); // 2

        // alice got seqs up to 4 of `many` live; the held entry for a conversation she is not in
        // changes nothing and reveals nothing.
        const held = new Map([
          [many, 4],
          [notAlice, 1],
          [unknownConversation(), 9],
        ]);
        const page = await store.syncSince(alice, p0, p0, 100, 2, held);
        expect(convIds(page).sort()).toEqual([many, other].sort());
        expect(seqsIn(page, many)).toEqual([5, 6]);
        expect(seqsIn(page, other)).toEqual([2]);
        // Without the held entry the same page brings seqs alice already has and is truncated.
        const without = await store.syncSince(alice, p0, p0, 100, 2);
        expect(seqsIn(without, many)).toEqual([2, 3]);
        expect(without.truncated).toEqual([many]);
        expect(page.truncated).toEqual([]);
        // Holding everything leaves the summary (cursors, unread) with no events; the token moves alike.
        const all = await store.syncSince(
          alice,
          p0,
          p0,
          100,
          2,
          new Map([
            [many, 6],
            [other, 2],
          ]),
        );
        expect(convIds(all).sort()).toEqual([many, other].sort());
        expect(all.events).toEqual([]);
        expect(all.position).toBe(page.position);
      });

      it('marks a conversation truncated when more events than eventsPerConversation changed', async () => {
        const [alice, bob] = ids('alice', 'bob');
        const many = await createGroup(store, alice, [bob], 'many');
        const exact = await createGroup(store, alice, [bob], 'exact');
        const few = await createGroup(store, alice, [bob], 'few');
        const p0 = (await store.syncSince(alice, 0, 0, 100, 0)).position;
        for (let i = 0; i < 5; i++) await send(store, many, bob, `m${i}`); // 2..6
        for (let i = 0; i < 2; i++) await send(store, exact, bob, `e${i}`); // 2..3
        await send(store, few, bob, 'f'); // 2

        const page = await store.syncSince(alice, p0, p0, 100, 2);
        expect(page.truncated).toEqual([many]);
        expect(convIds(page).sort()).toEqual([many, exact, few].sort());
        const manySeqs = seqsIn(page, many);
        expect(manySeqs).toHaveLength(2);
        expect(manySeqs.every((s) => s >= 2 && s <= 6)).toBe(true);
        expect([...manySeqs].sort((a, b) => a - b)).toEqual(manySeqs);
        expect(seqsIn(page, exact)).toEqual([2, 3]);
        expect(seqsIn(page, few)).toEqual([2]);
      });

      it('pages by limit, oldest change first, without loss or duplication', async () => {
        const [alice, bob] = ids('alice', 'bob');
        const c: string[] = [];
        for (let i = 0; i < 5; i++) c.push(await createGroup(store, alice, [bob], `c${i}`));
        await send(store, c[2]!, bob, 'bump');
        await send(store, c[0]!, bob, 'bump');
        // Change order now: c1, c3, c4, c2, c0.

        const p1 = await store.syncSince(alice, 0, 0, 2, 0);
        expect(convIds(p1)).toEqual([c[1], c[3]]);
        expect(p1.hasMore).toBe(true);
        const p2 = await store.syncSince(alice, p1.position, p1.position, 2, 0);
        expect(convIds(p2)).toEqual([c[4], c[2]]);
        expect(p2.hasMore).toBe(true);
        expect(p2.position).toBeGreaterThan(p1.position);
        const p3 = await store.syncSince(alice, p2.position, p2.position, 2, 0);
        expect(convIds(p3)).toEqual([c[0]]);
        expect(p3.hasMore).toBe(false);
        expect(p3.position).toBe(await store.latestPosition(alice));

        // A page that exactly fills the limit has no more.
        const exact = await store.syncSince(alice, p1.position, p1.position, 3, 0);
        expect(convIds(exact)).toEqual([c[4], c[2], c[0]]);
        expect(exact.hasMore).toBe(false);
      });

      it('loses no event across pages, even with writes between pages', async () => {
        const [alice, bob, carol] = ids('alice', 'bob', 'carol');
        const convs: string[] = [];
        for (let i = 0; i < 6; i++) {
          const conv =
            i % 2 === 0
              ? await createGroup(store, alice, [bob, carol])
              : await createDirect(store, alice, uid(`p${i}`));
          convs.push(conv);
          for (let k = 0; k <= i; k++) await send(store, conv, alice, `${i}.${k}`);
        }
        const seen = new Map<string, number[]>();
        const collect = (page: SyncPage) => {
          for (const e of page.events)
            seen.set(e.conversation_id, [...(seen.get(e.conversation_id) ?? []), e.seq]);
        };

        let page = await store.syncSince(alice, 0, 0, 2, 100);
        collect(page);
        expect(page.hasMore).toBe(true);
        // Writes between pages: to a conversation already returned and to one not yet returned.
        await send(store, convs[0]!, bob, 'late to a returned conversation');
        await send(store, convs[5]!, alice, 'late to a pending conversation');
        await run(store, cursor(convs[2]!, bob, 2));
        let guard = 0;
        while (page.hasMore && guard++ < 20) {
          page = await store.syncSince(alice, page.position, 0, 2, 100);
          collect(page);
        }
        expect(page.hasMore).toBe(false);
        expect(page.position).toBe(await store.latestPosition(alice));
        for (const conv of convs) {
          const all = seqs(await allEvents(store, alice, conv));
          // A conversation that changed again after it was returned may come back (clients drop
          // duplicate seqs), but every event must have been handed over at least once.
          const got = [...new Set(seen.get(conv) ?? [])].sort((a, b) => a - b);
          expect(got, conv).toEqual(all);
        }
      });

      it('pages the events of conversations whose changes interleave without losing any', async () => {
        const [alice, bob] = ids('alice', 'bob');
        const x = await createGroup(store, alice, [bob], 'x');
        const y = await createGroup(store, alice, [bob], 'y');
        const since = (await store.syncSince(alice, 0, 0, 100, 0)).position;
        const y1 = await send(store, y, bob, 'y first'); // y: 2
        const x1 = await send(store, x, bob, 'x only'); // x: 2
        const y2 = await send(store, y, bob, 'y second'); // y: 3
        // Change order after `since`: x (x1), then y (y2). y1 was committed before x1.

        const all = await store.syncSince(alice, since, since, 100, 100);
        expect(convIds(all)).toEqual([x, y]);
        expect(all.events).toEqual(expect.arrayContaining([y1, x1, y2]));
        expect(all.events).toHaveLength(3);

        const first = await store.syncSince(alice, since, since, 1, 100);
        expect(convIds(first)).toEqual([x]);
        expect(first.events).toEqual([x1]);
        expect(first.hasMore).toBe(true);
        const second = await store.syncSince(alice, first.position, since, 1, 100);
        expect(convIds(second)).toEqual([y]);
        expect(second.hasMore).toBe(false);
        // With no writes between the pages, paging must hand over exactly what the single call did:
        // y1 was committed after `since`, so leaving it out leaves the client a hole at y seq 2.
        expect(second.events).toEqual([y1, y2]);
        expect([...first.events, ...second.events]).toHaveLength(3);
      });

      it('advances latestPosition with every change the user can see, and only those', async () => {
        const [alice, bob, carol] = ids('alice', 'bob', 'carol');
        expect(await store.latestPosition(alice)).toBe(0);
        const positions = [0];
        const step = async (expectMove: boolean) => {
          const now = await store.latestPosition(alice);
          if (expectMove) expect(now).toBeGreaterThan(positions.at(-1)!);
          else expect(now).toBe(positions.at(-1)!);
          positions.push(now);
        };

        const conv = await createGroup(store, alice, [bob]);
        await step(true);
        await send(store, conv, bob);
        await step(true);
        await send(store, conv, alice);
        await step(true);
        await run(store, cursor(conv, bob, 3));
        await step(true);
        await run(store, cursor(conv, bob, 3)); // no movement
        await step(false);
        const other = await createDirect(store, bob, carol);
        await send(store, other, carol);
        await step(false);
        await run(store, { kind: 'rename', actorId: alice, conversationId: conv, title: 'x' });
        await step(true);
        await run(store, {
          kind: 'add_member',
          actorId: alice,
          conversationId: conv,
          userId: carol,
          role: 'member',
        });
        await step(true);
        const direct = await createDirect(store, carol, alice);
        await step(true);
        await send(store, direct, carol);
        await step(true);

        const { position } = await syncAll(store, alice, 0, 1, 0);
        expect(position).toBe(positions.at(-1));
      });
    });

    describe('reads', () => {
      it('pages fetchAfter and historyBefore in ascending order with hasMore', async () => {
        const [alice, bob] = ids('alice', 'bob');
        const conv = await createGroup(store, alice, [bob]);
        for (let i = 0; i < 24; i++) await send(store, conv, i % 2 ? alice : bob, `m${i}`); // 2..25

        const f = async (after: number, limit: number) => {
          const page = await store.fetchAfter(bob, conv, after, limit);
          return [seqs(page!.events), page!.hasMore];
        };
        expect(await f(0, 10)).toEqual([range(1, 10), true]);
        expect(await f(10, 10)).toEqual([range(11, 20), true]);
        expect(await f(20, 10)).toEqual([range(21, 25), false]);
        expect(await f(15, 10)).toEqual([range(16, 25), false]);
        expect(await f(25, 10)).toEqual([[], false]);
        expect(await f(99, 10)).toEqual([[], false]);
        expect(await f(3, 1)).toEqual([[4], true]);

        const h = async (before: number | null, limit: number) => {
          const page = await store.historyBefore(bob, conv, before, limit);
          return [seqs(page!.events), page!.hasMore];
        };
        expect(await h(null, 10)).toEqual([range(16, 25), true]);
        expect(await h(16, 10)).toEqual([range(6, 15), true]);
        expect(await h(6, 10)).toEqual([range(1, 5), false]);
        expect(await h(11, 10)).toEqual([range(1, 10), false]);
        expect(await h(1, 10)).toEqual([[], false]);
        expect(await h(null, 100)).toEqual([range(1, 25), false]);
        expect(await h(1000, 3)).toEqual([[23, 24, 25], true]);
      });

      it('bounds fetchAfter and historyBefore by joined_seq', async () => {
        const [alice, bob, late] = ids('alice', 'bob', 'late');
        const conv = await createGroup(store, alice, [bob]);
        for (let i = 0; i < 5; i++) await send(store, conv, alice, `old ${i}`); // 2..6
        await run(store, {
          kind: 'add_member',
          actorId: alice,
          conversationId: conv,
          userId: late,
          role: 'member',
        }); // 7
        for (let i = 0; i < 3; i++) await send(store, conv, bob, `new ${i}`); // 8..10

        expect(await store.fetchAfter(late, conv, 0, 2)).toMatchObject({ hasMore: true });
        expect(seqs((await store.fetchAfter(late, conv, 0, 2))!.events)).toEqual([7, 8]);
        expect(seqs((await store.fetchAfter(late, conv, 0, 100))!.events)).toEqual([7, 8, 9, 10]);
        const newest = await store.historyBefore(late, conv, null, 100);
        expect(seqs(newest!.events)).toEqual([7, 8, 9, 10]);
        expect(newest!.hasMore).toBe(false);
        const older = await store.historyBefore(late, conv, 9, 10);
        expect(seqs(older!.events)).toEqual([7, 8]);
        expect(older!.hasMore).toBe(false);
        expect(await store.historyBefore(late, conv, 7, 10)).toEqual({ events: [], hasMore: false });
        expect(await summary(store, late, conv)).toMatchObject({ joined_seq: 7, unread: 3 });
        const sync = await store.syncSince(late, 0, 0, 100, 100);
        expect(seqsIn(sync, conv)).toEqual([7, 8, 9, 10]);
      });

      it('lists member spans, former members included', async () => {
        const [owner, bob, carol, dave] = ids('owner', 'bob', 'carol', 'dave');
        const conv = await createGroup(store, owner, [bob, carol]); // 1
        await setRole(store, conv, owner, bob, 'admin'); // 2
        await run(store, {
          kind: 'add_member',
          actorId: owner,
          conversationId: conv,
          userId: dave,
          role: 'member',
        }); // 3
        await run(store, { kind: 'remove_member', actorId: owner, conversationId: conv, userId: carol }); // 4
        await send(store, conv, dave); // 5

        const { spans, lastSeq } = await store.memberSpans(conv);
        expect(lastSeq).toBe(5);
        const byUser = Object.fromEntries(spans.map((s) => [s.userId, s]));
        expect(Object.keys(byUser).sort()).toEqual([owner, bob, carol, dave].sort());
        expect(byUser[owner]).toEqual({ userId: owner, joinedSeq: 1, leftSeq: null });
        expect(byUser[bob]).toEqual({ userId: bob, joinedSeq: 1, leftSeq: null });
        expect(byUser[carol]).toMatchObject({ userId: carol, joinedSeq: 1, leftSeq: 4 });
        expect(byUser[dave]).toEqual({ userId: dave, joinedSeq: 3, leftSeq: null });

        expect(await store.memberSpans(unknownConversation())).toEqual({ spans: [], lastSeq: 0 });
      });

      it("finds whose membership overlapped the user's: current and former members, not those before or after", async () => {
        const [alice, bob, carol, dave, eve, frank] = ids('alice', 'bob', 'carol', 'dave', 'eve', 'frank');
        const group = await createGroup(store, alice, [bob, carol]); // 1
        await run(store, { kind: 'remove_member', actorId: alice, conversationId: group, userId: bob }); // 2
        await run(store, {
          kind: 'add_member',
          actorId: alice,
          conversationId: group,
          userId: dave,
          role: 'member',
        }); // 3
        await run(store, { kind: 'remove_member', actorId: carol, conversationId: group, userId: carol }); // 4
        await createDirect(store, eve, frank);

        // Alice saw everyone who was ever in the group; bob left before dave came.
        expect([...(await store.seenAlongside(alice, [bob, carol, dave, eve]))].sort()).toEqual(
          [bob, carol, dave].sort(),
        );
        expect([...(await store.seenAlongside(bob, [alice, carol, dave]))].sort()).toEqual(
          [alice, carol].sort(),
        );
        expect([...(await store.seenAlongside(dave, [bob, carol]))].sort()).toEqual([carol]);
        expect(await store.seenAlongside(frank, [alice, bob])).toEqual([]);
        expect(await store.seenAlongside(alice, [])).toEqual([]);
        // Presence stays with current members only.
        expect(await store.sharingConversationWith(alice, [bob, carol])).toEqual([]);
      });

      it('finds who shares a conversation as current members', async () => {
        const [alice, bob, carol, dave, eve, frank] = ids('alice', 'bob', 'carol', 'dave', 'eve', 'frank');
        await createDirect(store, alice, bob);
        const group = await createGroup(store, alice, [carol, eve]);
        await createDirect(store, dave, frank);
        await run(store, { kind: 'remove_member', actorId: alice, conversationId: group, userId: eve });

        const found = await store.sharingConversationWith(alice, [bob, carol, dave, eve, uid('nobody')]);
        expect([...found].sort()).toEqual([bob, carol].sort());
        expect(await store.sharingConversationWith(alice, [])).toEqual([]);
        expect(await store.sharingConversationWith(eve, [alice, carol])).toEqual([]);
        expect(await store.sharingConversationWith(bob, [alice, alice])).toEqual([alice]);
        expect(await store.sharingConversationWith(frank, [alice, bob])).toEqual([]);
      });
    });

    describe('AccountStore', () => {
      const user = (overrides: Partial<UserRecord> = {}): UserRecord => ({
        id: uid('user'),
        username: `name_${randomUUID().slice(0, 8)}`,
        displayName: 'Display Name',
        passwordHash: 'hash$abc',
        createdAt: 1_700_000_000_000,
        avatarTag: null,
        bot: false,
        ...overrides,
      });

      it('creates users and finds them by id and (case-insensitive) username', async () => {
        const record = user();
        await accounts.createUser(record);
        expect(await accounts.userById(record.id)).toEqual(record);
        expect(await accounts.userByUsername(record.username!)).toEqual(record);
        expect(await accounts.userByUsername(record.username!.toUpperCase())).toEqual(record);
        expect(await accounts.userById(uid('missing'))).toBeNull();
        expect(await accounts.userByUsername(`missing_${randomUUID().slice(0, 8)}`)).toBeNull();
      });

      it('rejects a taken username with username_taken, whatever its case', async () => {
        const first = user();
        await accounts.createUser(first);
        const clash = user({ username: first.username!.toUpperCase() });
        await expect(accounts.createUser(clash)).rejects.toSatisfy(
          (e: unknown) => e instanceof NatterError && e.code === 'username_taken',
        );
        expect(await accounts.userById(clash.id)).toBeNull();
        expect(await accounts.userByUsername(first.username!)).toEqual(first);
      });

      it('ensureUser creates a bare user once and never overwrites', async () => {
        const id = uid('jwt');
        await accounts.ensureUser(id);
        await accounts.ensureUser(id);
        const bare = await accounts.userById(id);
        expect(bare).toMatchObject({ id, username: null, displayName: null, passwordHash: null });
        expect(typeof bare!.createdAt).toBe('number');
        // Several bare users may coexist (no username).
        const other = uid('jwt');
        await accounts.ensureUser(other);
        expect((await accounts.userById(other))?.username).toBeNull();

        const full = user();
        await accounts.createUser(full);
        await accounts.ensureUser(full.id);
        expect(await accounts.userById(full.id)).toEqual(full);
      });

      it('creates, looks up and revokes sessions', async () => {
        const owner = user();
        await accounts.createUser(owner);
        const session = {
          tokenHash: `th-${randomUUID()}`,
          userId: owner.id,
          expiresAt: Date.now() + 60_000,
          revokedAt: null,
        };
        await accounts.createSession(session);
        expect(await accounts.sessionByTokenHash(session.tokenHash)).toEqual(session);
        expect(await accounts.sessionByTokenHash(`th-${randomUUID()}`)).toBeNull();

        const at = Date.now();
        await accounts.revokeSession(session.tokenHash, at);
        expect(await accounts.sessionByTokenHash(session.tokenHash)).toEqual({ ...session, revokedAt: at });
        // Revoking an unknown token is harmless.
        await accounts.revokeSession(`th-${randomUUID()}`, at);
      });
    });
  });
}
