import {
  type ChatEvent,
  type ConversationSummary,
  THREAD_PARTICIPANTS_SHOWN,
  type ThreadSummary,
} from '@natter/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventPage, LogStore } from '../../src/store/log-store.js';
import type { AppendOp, WriteOp, WriteResult } from '../../src/store/write-ops.js';
import type { LogStoreHandle } from './log-store.conformance.js';
import {
  agreedField,
  append,
  at,
  createGroup,
  del,
  fetched,
  history,
  ids,
  message,
  okOf,
  only,
  range,
  refusal,
  reject,
  run,
  send,
  summary,
  synced,
  uid,
  unknownConversation,
} from './store-ops.js';

/**
 * Threads as the LogStore port promises them: a reply in a thread is a conversation event like
 * any message that also takes the next seq of its thread (gap-free per root, in commit order);
 * reads put each reader's thread summary on roots, threadBefore pages a thread, thread_read
 * moves a follower's cursor, and summaries count thread_unread. The same suite for every adapter,
 * through the interface only. Ids are unique per test, so adapters may share one database.
 */

// ---------------------------------------------------------------------------------------------
// helpers

const reply = (conv: string, sender: string, root: number, body: string, fields: Partial<AppendOp> = {}) =>
  message(conv, sender, body, { threadRoot: root, ...fields });
const threadRead = (conversationId: string, userId: string, rootSeq: number, threadSeq: number): WriteOp => ({
  kind: 'thread_read',
  conversationId,
  userId,
  rootSeq,
  threadSeq,
});

async function replyIn(store: LogStore, conv: string, sender: string, root: number, body = 'in thread') {
  return only(await run(store, reply(conv, sender, root, body)));
}

async function addMember(store: LogStore, conv: string, actorId: string, userId: string): Promise<number> {
  return only(await run(store, { kind: 'add_member', actorId, conversationId: conv, userId, role: 'member' }))
    .seq;
}

async function removeMember(store: LogStore, conv: string, actorId: string, userId: string): Promise<number> {
  return only(await run(store, { kind: 'remove_member', actorId, conversationId: conv, userId })).seq;
}

/** The thread summary on a root as each of the three reads returns it (they must agree). */
function threadOf(
  store: LogStore,
  userId: string,
  conv: string,
  root: number,
): Promise<ThreadSummary | undefined> {
  return agreedField(store, userId, conv, root, 'thread');
}

/** The whole thread as threadBefore pages it (newest page first), ascending by thread seq. */
async function wholeThread(
  store: LogStore,
  userId: string,
  conv: string,
  root: number,
  limit = 2,
): Promise<ChatEvent[]> {
  const pages: ChatEvent[][] = [];
  let before: number | null = null;
  for (let guard = 0; guard < 1000; guard++) {
    const page: EventPage | null = await store.threadBefore(userId, conv, root, before, limit);
    if (!page) throw new Error(`threadBefore returned null for ${userId} in ${conv} under ${root}`);
    expect(page.events.length).toBeLessThanOrEqual(limit);
    pages.unshift(page.events);
    const first = page.events[0];
    if (!page.hasMore || first === undefined) return pages.flat();
    before = first.data!.thread!.seq;
  }
  throw new Error('threadBefore never ended');
}

const threadSeqs = (events: ChatEvent[]) => events.map((e) => e.data?.thread?.seq);

// ---------------------------------------------------------------------------------------------

export function describeThreadsConformance(name: string, open: () => Promise<LogStoreHandle>): void {
  describe(`LogStore threads conformance: ${name}`, () => {
    let handle: LogStoreHandle;
    let store: LogStore;

    beforeEach(async () => {
      handle = await open();
      store = handle.store;
    });

    afterEach(async () => {
      await handle.close();
    });

    describe('thread seqs', () => {
      it('number each root’s replies 1, 2, 3 in commit order, apart from other roots; a reply is a conversation message with data.thread', async () => {
        const [alice, bob, carol] = ids('alice', 'bob', 'carol');
        const conv = await createGroup(store, alice, [bob, carol]);
        const root1 = await send(store, conv, alice, 'root one');
        const root2 = await send(store, conv, bob, 'root two');
        const steps: Array<[string, ChatEvent, number]> = [
          [bob, root1, 1],
          [carol, root1, 2],
          [alice, root2, 1],
          [carol, root2, 2],
          [bob, root1, 3],
          [alice, root1, 4],
          [bob, root2, 3],
        ];
        let seq = root2.seq;
        for (const [sender, root, threadSeq] of steps) {
          const e = await replyIn(store, conv, sender, root.seq, `${threadSeq} under ${root.seq}`);
          expect(e).toMatchObject({
            conversation_id: conv,
            seq: ++seq,
            kind: 'message',
            sender_id: sender,
            body: `${threadSeq} under ${root.seq}`,
            ref_seq: null,
            deleted: false,
          });
          expect(e.data).toEqual({ thread: { root_seq: root.seq, seq: threadSeq } });
          expect(e.thread, 'a reply carries its place, not a summary').toBeUndefined();
        }
        // A plain message in between takes the next conversation seq and no thread place.
        const plain = await send(store, conv, carol, 'plain');
        expect(plain.seq).toBe(seq + 1);
        expect(plain.data?.thread).toBeUndefined();
        // The log stays gap-free, and the replies read back as they were stored.
        const all = await fetched(store, alice, conv);
        expect(all.map((e) => e.seq)).toEqual(range(1, plain.seq));
        expect(threadSeqs(all.filter((e) => e.data?.thread?.root_seq === root1.seq))).toEqual([1, 2, 3, 4]);
        expect(threadSeqs(all.filter((e) => e.data?.thread?.root_seq === root2.seq))).toEqual([1, 2, 3]);
        // Several replies in one batch, to both roots, continue each thread's count.
        const batch = await store.commit([
          reply(conv, carol, root2.seq, 'b1'),
          reply(conv, alice, root1.seq, 'b2'),
          reply(conv, bob, root2.seq, 'b3'),
        ]);
        expect(batch.map((r) => only(okOf(r)).data?.thread)).toEqual([
          { root_seq: root2.seq, seq: 4 },
          { root_seq: root1.seq, seq: 5 },
          { root_seq: root2.seq, seq: 5 },
        ]);
        expect(batch.map((r) => only(okOf(r)).seq)).toEqual(range(plain.seq + 1, plain.seq + 3));
      });

      it('stay gap-free and in commit order under many commits in flight at once from several senders', async () => {
        const [alice, bob, carol, dave] = ids('alice', 'bob', 'carol', 'dave');
        const senders = [alice, bob, carol, dave];
        const conv = await createGroup(store, alice, [bob, carol, dave]);
        const rootA = await send(store, conv, alice, 'root a');
        const rootB = await send(store, conv, bob, 'root b');
        const COMMITS = 60;
        const commits: Array<Promise<WriteResult[]>> = [];
        for (let i = 0; i < COMMITS; i++) {
          const sender = senders[i % senders.length]!;
          // Batches of one or two replies, to one root or both, and plain messages between.
          const ops: WriteOp[] = [reply(conv, sender, i % 3 === 0 ? rootB.seq : rootA.seq, `r${i}`)];
          if (i % 4 === 1) ops.push(reply(conv, sender, rootB.seq, `r${i}b`));
          if (i % 5 === 2) ops.push(message(conv, sender, `plain ${i}`));
          commits.push(store.commit(ops));
        }
        const settled = await Promise.all(commits);
        const acked = settled.flat().map((r) => only(okOf(r)));

        const all = await fetched(store, alice, conv);
        expect(
          all.map((e) => e.seq),
          'conversation seqs gap-free',
        ).toEqual(range(1, all.length));
        // Each acked event is stored once, as acked.
        for (const e of acked) expect(at(all, e.seq)).toEqual(e);
        for (const root of [rootA, rootB]) {
          const replies = all.filter((e) => e.data?.thread?.root_seq === root.seq);
          // Ordered by conversation seq (commit order), the thread seqs are exactly 1..N.
          expect(threadSeqs(replies)).toEqual(range(1, replies.length));
          expect(replies.length).toBe(acked.filter((e) => e.data?.thread?.root_seq === root.seq).length);
          expect((await threadOf(store, alice, conv, root.seq))?.reply_count).toBe(replies.length);
          expect(await wholeThread(store, bob, conv, root.seq, 7)).toEqual(replies);
        }
      });

      it('a retried reply is a duplicate with the original event: same seq and thread seq, no second reply', async () => {
        const [alice, bob, carol] = ids('alice', 'bob', 'carol');
        const conv = await createGroup(store, alice, [bob, carol]);
        const root = await send(store, conv, alice, 'root');
        const op = reply(conv, bob, root.seq, 'once');
        const original = await run(store, op);
        expect(original.duplicate).toBe(false);
        const retry = await run(store, op);
        expect(retry.duplicate).toBe(true);
        expect(retry.events).toEqual(original.events);
        expect(only(retry).data?.thread).toEqual({ root_seq: root.seq, seq: 1 });
        // The same client_msg_id in one batch: one reply.
        const twice = reply(conv, carol, root.seq, 'twice');
        const [a, b] = (await store.commit([twice, twice])).map(okOf);
        expect(a!.duplicate).toBe(false);
        expect(b!.duplicate).toBe(true);
        expect(b!.events).toEqual(a!.events);
        expect(only(a!).data?.thread?.seq).toBe(2);
        const thread = await threadOf(store, alice, conv, root.seq);
        expect(thread).toMatchObject({
          reply_count: 2,
          last_reply_seq: only(a!).seq,
          participants: [carol, bob],
        });
        expect((await fetched(store, alice, conv)).filter((e) => e.data?.thread)).toHaveLength(2);
        // The next reply takes the next thread seq: the retries took none.
        expect((await replyIn(store, conv, alice, root.seq)).data?.thread?.seq).toBe(3);
        // A retry after the root was deleted is still the original reply, not a refusal.
        await run(store, del(conv, alice, root.seq));
        const late = await run(store, op);
        expect(late.duplicate).toBe(true);
        expect(late.events).toEqual(original.events);
      });
    });

    describe('roots', () => {
      it('must be a message the sender can see and that is not deleted (not_found), and not a reply in a thread (bad_request)', async () => {
        const [alice, bob, late, stranger] = ids('alice', 'bob', 'late', 'stranger');
        const conv = await createGroup(store, alice, [bob]);
        const early = await send(store, conv, alice, 'before late joined');
        const deleted = await send(store, conv, alice, 'to delete');
        const edit = only(
          await run(store, append(conv, alice, 'edit', { refSeq: early.seq, body: 'edited' })),
        );
        await run(store, del(conv, alice, deleted.seq));
        await addMember(store, conv, alice, late);
        const root = await send(store, conv, bob, 'a real root');
        const inThread = await replyIn(store, conv, alice, root.seq, 'reply');
        const lastSeq = inThread.seq;

        const beyond = await refusal(store, reply(conv, late, lastSeq + 10, 'x'));
        expect(beyond.code).toBe('not_found');
        // Not a message (created event, an edit), deleted, before the sender joined: all like a seq that does not exist.
        for (const [sender, target] of [
          [late, 1],
          [alice, edit.seq],
          [alice, deleted.seq],
          [late, early.seq],
        ] as const) {
          expect(await refusal(store, reply(conv, sender, target, 'x')), `root ${target}`).toEqual(beyond);
        }
        // One level deep: a reply cannot be a root.
        const nested = await reject(store, reply(conv, bob, inThread.seq, 'nested'));
        expect(nested.code).toBe('bad_request');
        // Strangers and the removed get not_found, as for a conversation that does not exist.
        const ghost = await refusal(store, reply(unknownConversation(), stranger, 2, 'x'));
        expect(ghost.code).toBe('not_found');
        expect(await refusal(store, reply(conv, stranger, root.seq, 'x'))).toEqual(ghost);
        await removeMember(store, conv, alice, bob);
        expect(await refusal(store, reply(conv, bob, root.seq, 'x'))).toEqual(ghost);
        // None of these stored anything: the thread has its one reply.
        const all = await fetched(store, alice, conv);
        expect(all.at(-1)?.kind).toBe('member_removed');
        expect(all.filter((e) => e.data?.thread)).toHaveLength(1);
        expect((await threadOf(store, alice, conv, root.seq))?.reply_count).toBe(1);
        // The late joiner may start a thread under what they can see.
        expect((await replyIn(store, conv, late, root.seq)).data?.thread).toEqual({
          root_seq: root.seq,
          seq: 2,
        });
      });

      it('a deleted root stays a tombstone with its summary and a readable thread, and takes no new replies', async () => {
        const [alice, bob, carol] = ids('alice', 'bob', 'carol');
        const conv = await createGroup(store, alice, [bob, carol]);
        const root = await send(store, conv, alice, 'root to delete');
        const r1 = await replyIn(store, conv, bob, root.seq, 'one');
        const r2 = await replyIn(store, conv, carol, root.seq, 'two');
        await run(store, del(conv, alice, root.seq));
        for (const reader of [alice, bob, carol]) {
          const events = await fetched(store, reader, conv);
          expect(at(events, root.seq)).toMatchObject({ kind: 'message', body: null, deleted: true });
          const thread = await threadOf(store, reader, conv, root.seq);
          expect(thread).toMatchObject({
            reply_count: 2,
            last_reply_seq: r2.seq,
            last_reply_at: r2.created_at,
            participants: [carol, bob],
          });
          expect(await wholeThread(store, reader, conv, root.seq)).toEqual([r1, r2]);
        }
        const refused = await reject(store, reply(conv, bob, root.seq, 'too late'));
        expect(refused.code).toBe('not_found');
        expect((await threadOf(store, alice, conv, root.seq))?.reply_count).toBe(2);
        // The root's author still follows it: the replies by others are unread.
        expect((await summary(store, alice, conv)).thread_unread).toBe(2);
      });
    });

    describe('reads', () => {
      it('put each reader’s thread summary on the root in fetch, history and sync; messages without replies have none', async () => {
        const [alice, bob, u1, u2, u3, u4, u5, u6] = ids('alice', 'bob', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6');
        const conv = await createGroup(store, alice, [bob, u1, u2, u3, u4, u5, u6]);
        const root = await send(store, conv, alice, 'root');
        const lonely = await send(store, conv, bob, 'no replies');
        expect(await threadOf(store, alice, conv, root.seq)).toBeUndefined();
        const order = [u1, u2, u1, u3, u4, u5, u6];
        const replies: ChatEvent[] = [];
        for (const sender of order) replies.push(await replyIn(store, conv, sender, root.seq));
        const last = replies.at(-1)!;
        const common = {
          reply_count: 7,
          last_reply_seq: last.seq,
          last_reply_at: last.created_at,
          // Most recent first, distinct, at most five: u2 (last at 2) falls off.
          participants: [u6, u5, u4, u3, u1],
        };
        expect(THREAD_PARTICIPANTS_SHOWN).toBe(5);
        // The root's author follows from the first reply, with nothing read.
        expect(await threadOf(store, alice, conv, root.seq)).toEqual({
          ...common,
          following: true,
          read_seq: 0,
          unread: 7,
        });
        // A replier follows with their cursor at their own (latest) reply.
        expect(await threadOf(store, u1, conv, root.seq)).toEqual({
          ...common,
          following: true,
          read_seq: 3,
          unread: 4,
        });
        expect(await threadOf(store, u6, conv, root.seq)).toEqual({
          ...common,
          following: true,
          read_seq: 7,
          unread: 0,
        });
        // Someone who neither wrote, replied nor read does not follow: nothing unread.
        expect(await threadOf(store, bob, conv, root.seq)).toEqual({
          ...common,
          following: false,
          read_seq: 0,
          unread: 0,
        });
        expect(await threadOf(store, bob, conv, lonely.seq)).toBeUndefined();
        // The replies come through every read as ordinary events with their place.
        for (const events of [
          await fetched(store, bob, conv),
          await history(store, bob, conv),
          await synced(store, bob, conv),
        ]) {
          expect(events.filter((e) => e.data?.thread).map((e) => e.seq)).toEqual(replies.map((e) => e.seq));
          for (const r of replies) expect(at(events, r.seq)).toEqual(r);
        }
        // A root on a page of its own (its replies not on it) still carries the summary.
        const page = await store.fetchAfter(bob, conv, root.seq - 1, 1);
        expect(page?.events.map((e) => e.seq)).toEqual([root.seq]);
        expect(page?.events[0]?.thread).toMatchObject(common);
      });

      it('threadBefore pages a thread: newest page first, ascending by thread seq, before_thread_seq, limit, has_more', async () => {
        const [alice, bob, carol] = ids('alice', 'bob', 'carol');
        const conv = await createGroup(store, alice, [bob, carol]);
        const root = await send(store, conv, alice, 'root');
        const other = await send(store, conv, bob, 'other root');
        const replies: ChatEvent[] = [];
        for (let i = 1; i <= 7; i++) {
          replies.push(await replyIn(store, conv, i % 2 === 0 ? bob : carol, root.seq, `reply ${i}`));
          // Other activity interleaved: a plain message and another thread.
          if (i % 2 === 0) await send(store, conv, alice, `plain ${i}`);
          if (i % 3 === 0) await replyIn(store, conv, alice, other.seq, `other ${i}`);
        }
        const newest = await store.threadBefore(bob, conv, root.seq, null, 3);
        expect(newest).toEqual({ events: replies.slice(4), hasMore: true });
        expect(threadSeqs(newest!.events)).toEqual([5, 6, 7]);
        expect(await store.threadBefore(bob, conv, root.seq, 5, 3)).toEqual({
          events: replies.slice(1, 4),
          hasMore: true,
        });
        expect(await store.threadBefore(bob, conv, root.seq, 2, 3)).toEqual({
          events: replies.slice(0, 1),
          hasMore: false,
        });
        expect(await store.threadBefore(bob, conv, root.seq, 1, 3)).toEqual({ events: [], hasMore: false });
        expect(await store.threadBefore(bob, conv, root.seq, null, 7)).toEqual({
          events: replies,
          hasMore: false,
        });
        expect(await store.threadBefore(bob, conv, root.seq, null, 100)).toEqual({
          events: replies,
          hasMore: false,
        });
        expect(await store.threadBefore(carol, conv, root.seq, 8, 1)).toEqual({
          events: replies.slice(6),
          hasMore: true,
        });
        expect(await wholeThread(store, carol, conv, other.seq)).toEqual(
          (await fetched(store, carol, conv)).filter((e) => e.data?.thread?.root_seq === other.seq),
        );
        // A message with no replies (yet) is a root with an empty thread.
        const fresh = await send(store, conv, carol, 'nobody answered');
        expect(await store.threadBefore(bob, conv, fresh.seq, null, 10)).toEqual({
          events: [],
          hasMore: false,
        });
      });

      it('threadBefore is null for a stranger, an unknown conversation, and a seq that is no root (nothing, not a message, a reply)', async () => {
        const [alice, bob, stranger] = ids('alice', 'bob', 'stranger');
        const conv = await createGroup(store, alice, [bob]);
        const root = await send(store, conv, alice, 'root');
        const r = await replyIn(store, conv, bob, root.seq, 'reply');
        const edit = only(
          await run(store, append(conv, alice, 'edit', { refSeq: root.seq, body: 'edited' })),
        );
        expect(await store.threadBefore(stranger, conv, root.seq, null, 10)).toBeNull();
        expect(await store.threadBefore(alice, unknownConversation(), root.seq, null, 10)).toBeNull();
        expect(await store.threadBefore(alice, conv, r.seq, null, 10)).toBeNull();
        expect(await store.threadBefore(alice, conv, 1, null, 10)).toBeNull();
        expect(await store.threadBefore(alice, conv, edit.seq, null, 10)).toBeNull();
        expect(await store.threadBefore(alice, conv, edit.seq + 50, null, 10)).toBeNull();
        expect((await store.threadBefore(alice, conv, root.seq, null, 10))?.events).toEqual([r]);
      });

      it('a late joiner sees only the replies after joining; a removed member’s view stops at the removal', async () => {
        const [alice, bob, late, gone] = ids('alice', 'bob', 'late', 'gone');
        const conv = await createGroup(store, alice, [bob, gone]);
        const root = await send(store, conv, alice, 'root');
        const r1 = await replyIn(store, conv, bob, root.seq, 'one');
        const r2 = await replyIn(store, conv, gone, root.seq, 'two');
        await addMember(store, conv, alice, late);
        const r3 = await replyIn(store, conv, bob, root.seq, 'three');
        const removal = await removeMember(store, conv, alice, gone);
        // The root went before the late joiner joined: not theirs to reply under.
        expect((await reject(store, reply(conv, late, root.seq, 'no'))).code).toBe('not_found');
        const r4 = await replyIn(store, conv, bob, root.seq, 'four');
        const r5 = await replyIn(store, conv, alice, root.seq, 'five');

        expect(await wholeThread(store, alice, conv, root.seq)).toEqual([r1, r2, r3, r4, r5]);
        expect(await wholeThread(store, late, conv, root.seq)).toEqual([r3, r4, r5]);
        expect(await store.threadBefore(late, conv, root.seq, null, 2)).toEqual({
          events: [r4, r5],
          hasMore: true,
        });
        expect(await store.threadBefore(late, conv, root.seq, 4, 2)).toEqual({
          events: [r3],
          hasMore: false,
        });
        expect(await wholeThread(store, gone, conv, root.seq)).toEqual([r1, r2, r3]);
        expect(await store.threadBefore(gone, conv, root.seq, null, 10)).toEqual({
          events: [r1, r2, r3],
          hasMore: false,
        });

        // The former member's root: the thread as of the removal, nobody named, not followed.
        const goneView = await fetched(store, gone, conv);
        expect(goneView.at(-1)?.seq).toBe(removal);
        expect(at(goneView, root.seq).thread).toEqual({
          reply_count: 3,
          last_reply_seq: r3.seq,
          last_reply_at: r3.created_at,
          participants: [],
          following: false,
          read_seq: 0,
          unread: 0,
        });
        expect(at(await history(store, gone, conv), root.seq).thread).toEqual(at(goneView, root.seq).thread);
        // The late joiner does not follow: nothing counts for them, and the root is not theirs to see.
        expect((await summary(store, late, conv)).thread_unread).toBe(0);
        expect((await fetched(store, late, conv)).some((e) => e.seq === root.seq)).toBe(false);
      });

      it('a late joiner cannot follow a thread under a root from before they joined, nor learn its size; a re-added member counts only what they may see', async () => {
        const [alice, bob, late] = ids('alice', 'bob', 'late');
        const conv = await createGroup(store, alice, [bob]);
        const root = await send(store, conv, alice, 'root');
        await replyIn(store, conv, bob, root.seq, 'one');
        await replyIn(store, conv, bob, root.seq, 'two');
        await addMember(store, conv, alice, late);
        const r3 = await replyIn(store, conv, bob, root.seq, 'three');
        expect(await wholeThread(store, late, conv, root.seq)).toEqual([r3]);
        const noThread = await refusal(store, threadRead(conv, late, root.seq + 1, 0));
        expect(await refusal(store, threadRead(conv, late, root.seq, 1_000_000))).toEqual(noThread);
        expect((await summary(store, late, conv)).thread_unread).toBe(0);

        // Bob follows, leaves and is added again: replies from before his return never count.
        await run(store, threadRead(conv, bob, root.seq, 0));
        await removeMember(store, conv, alice, bob);
        await replyIn(store, conv, alice, root.seq, 'while bob was away');
        await addMember(store, conv, alice, bob);
        expect((await summary(store, bob, conv)).thread_unread).toBe(0);
      });

      it('threadBefore tells nothing past the visible range, nor what a seq before it holds', async () => {
        const [alice, bob, late] = ids('alice', 'bob', 'late');
        const conv = await createGroup(store, alice, [bob]);
        const root = await send(store, conv, alice, 'root');
        const edit = only(
          await run(store, append(conv, alice, 'edit', { refSeq: root.seq, body: 'edited' })),
        );
        await addMember(store, conv, alice, late);
        // Before the late joiner's range: the same empty page for a root and for an edit.
        expect(await store.threadBefore(late, conv, root.seq, null, 10)).toEqual({
          events: [],
          hasMore: false,
        });
        expect(await store.threadBefore(late, conv, edit.seq, null, 10)).toEqual({
          events: [],
          hasMore: false,
        });
        // After a former member's removal: nothing, like a seq that does not exist.
        await removeMember(store, conv, alice, bob);
        const later = await send(store, conv, alice, 'after bob left');
        expect(await store.threadBefore(bob, conv, later.seq, null, 10)).toBeNull();
        expect(await store.threadBefore(bob, conv, later.seq + 100, null, 10)).toBeNull();
        expect(await store.threadBefore(alice, conv, later.seq, null, 10)).toEqual({
          events: [],
          hasMore: false,
        });
      });
    });

    describe('summaries', () => {
      it('thread replies are neither unread nor last_message, move updated_at, and count in thread_unread of followers; their mentions count', async () => {
        const [alice, bob, carol, dave] = ids('alice', 'bob', 'carol', 'dave');
        const conv = await createGroup(store, alice, [bob, carol, dave]);
        const root = await send(store, conv, alice, 'root');
        const before = await summary(store, dave, conv);
        expect(before).toMatchObject({ unread: 1, thread_unread: 0, mentions: 0 });
        expect(before.last_message?.seq).toBe(root.seq);

        const r1 = await replyIn(store, conv, bob, root.seq, 'bob answers');
        const r2 = only(
          await run(store, reply(conv, carol, root.seq, 'hey @alice', { mentions: [alice, dave] })),
        );
        expect(r2.data).toEqual({ thread: { root_seq: root.seq, seq: 2 }, mentions: [alice, dave] });

        const expected: Record<string, Partial<ConversationSummary>> = {
          // root author: follows from the first reply, nothing read there; mentioned once.
          [alice]: { unread: 0, thread_unread: 2, mentions: 1 },
          // replier at 1: carol's reply is unread; the root is still unread in the timeline.
          [bob]: { unread: 1, thread_unread: 1, mentions: 0 },
          // replier at 2: nothing unread in the thread.
          [carol]: { unread: 1, thread_unread: 0, mentions: 0 },
          // not following: the thread does not count for them, the mention does.
          [dave]: { unread: 1, thread_unread: 0, mentions: 1 },
        };
        for (const [user, fields] of Object.entries(expected)) {
          const s = await summary(store, user, conv);
          expect(s, user).toMatchObject(fields);
          expect(s.last_message?.seq, `${user}: a reply is never the last message`).toBe(root.seq);
          expect(s.last_seq).toBe(r2.seq);
          expect(s.updated_at).toBe(r2.created_at);
          // syncSince returns the same summary.
          const page = await store.syncSince(user, 0, 0, 100, 0);
          expect(page.conversations.find((c) => c.conversation_id === conv)).toEqual(s);
        }
        // Replying did not move the repliers' conversation cursors.
        expect((await summary(store, bob, conv)).read_seq).toBeLessThan(root.seq);

        // A second followed thread adds to the total; a plain message is unread again as usual.
        const root2 = await send(store, conv, bob, 'second root');
        await replyIn(store, conv, dave, root2.seq, 'dave there');
        await replyIn(store, conv, carol, root2.seq, 'carol there');
        // bob sent the second root: his read cursor moved past the first.
        expect(await summary(store, bob, conv)).toMatchObject({ thread_unread: 3, unread: 0 });
        expect(await summary(store, dave, conv)).toMatchObject({ thread_unread: 1, unread: 2 });
        expect((await summary(store, dave, conv)).last_message?.seq).toBe(root2.seq);
        // Reading the timeline past the mentioning reply clears the mention; the thread stays unread.
        await run(store, {
          kind: 'cursor',
          conversationId: conv,
          userId: alice,
          read: r2.seq,
          delivered: null,
        });
        expect(await summary(store, alice, conv)).toMatchObject({ mentions: 0, thread_unread: 2 });
        expect(r1.seq).toBeLessThan(r2.seq);
      });
    });

    describe('former members', () => {
      it('follow nothing once removed: the root says following:false, and thread_unread agrees (0)', async () => {
        const [alice, bob, carol] = ids('alice', 'bob', 'carol');
        const conv = await createGroup(store, alice, [bob, carol]);
        const root = await send(store, conv, alice, 'root');
        await replyIn(store, conv, bob, root.seq, 'bob follows');
        await replyIn(store, conv, carol, root.seq, 'unread for bob');
        expect(await summary(store, bob, conv)).toMatchObject({ thread_unread: 1 });
        await removeMember(store, conv, alice, bob);
        await replyIn(store, conv, carol, root.seq, 'after the removal');
        expect(at(await fetched(store, bob, conv), root.seq).thread).toMatchObject({
          reply_count: 2,
          following: false,
          unread: 0,
        });
        expect((await summary(store, bob, conv)).thread_unread).toBe(0);
      });

      it('see no thread on a root whose replies all came after their removal', async () => {
        const [alice, bob] = ids('alice', 'bob');
        const conv = await createGroup(store, alice, [bob]);
        const root = await send(store, conv, alice, 'root');
        await removeMember(store, conv, alice, bob);
        await replyIn(store, conv, alice, root.seq, 'unseen');
        expect('thread' in at(await fetched(store, bob, conv), root.seq)).toBe(false);
        expect(await store.threadBefore(bob, conv, root.seq, null, 10)).toEqual({
          events: [],
          hasMore: false,
        });
        expect((await threadOf(store, alice, conv, root.seq))?.reply_count).toBe(1);
      });
    });

    describe('thread_read', () => {
      it('moves forward only, clamped to reply_count; a first read follows; the outcome carries cursor and unread; the view changes', async () => {
        const [alice, bob, carol, dave, erin] = ids('alice', 'bob', 'carol', 'dave', 'erin');
        const conv = await createGroup(store, alice, [bob, carol, dave, erin]);
        const root = await send(store, conv, alice, 'root');
        await replyIn(store, conv, bob, root.seq, 'one');
        await replyIn(store, conv, carol, root.seq, 'two');
        await replyIn(store, conv, bob, root.seq, 'three');

        let position = await store.latestPosition(dave);
        const first = await run(store, threadRead(conv, dave, root.seq, 0));
        expect(first.events).toEqual([]);
        expect(first.threadCursor).toEqual({
          conversationId: conv,
          userId: dave,
          rootSeq: root.seq,
          readSeq: 0,
          unread: 3,
        });
        expect(await store.latestPosition(dave)).toBeGreaterThan(position);
        // The reader's view changed: a sync after the old position returns the summary again.
        const page = await store.syncSince(dave, position, position, 100, 100);
        expect(page.conversations.map((c) => c.conversation_id)).toEqual([conv]);
        expect(page.conversations[0]).toMatchObject({ thread_unread: 3 });
        expect(await threadOf(store, dave, conv, root.seq)).toMatchObject({
          following: true,
          read_seq: 0,
          unread: 3,
        });

        position = await store.latestPosition(dave);
        const forward = await run(store, threadRead(conv, dave, root.seq, 2));
        expect(forward.threadCursor).toEqual({
          conversationId: conv,
          userId: dave,
          rootSeq: root.seq,
          readSeq: 2,
          unread: 1,
        });
        expect(await store.latestPosition(dave)).toBeGreaterThan(position);
        expect(await summary(store, dave, conv)).toMatchObject({ thread_unread: 1 });

        // Backwards or in place: nothing moves, no cursor in the outcome, the view does not change.
        position = await store.latestPosition(dave);
        for (const target of [1, 2, 0]) {
          const still = await run(store, threadRead(conv, dave, root.seq, target));
          expect(still.threadCursor, `read to ${target}`).toBeUndefined();
        }
        expect(await store.latestPosition(dave)).toBe(position);
        expect(await threadOf(store, dave, conv, root.seq)).toMatchObject({ read_seq: 2, unread: 1 });

        // Beyond the newest reply: clamped.
        const clamped = await run(store, threadRead(conv, dave, root.seq, 99));
        expect(clamped.threadCursor).toMatchObject({ readSeq: 3, unread: 0 });
        expect(await threadOf(store, dave, conv, root.seq)).toMatchObject({
          following: true,
          read_seq: 3,
          unread: 0,
        });
        expect(await summary(store, dave, conv)).toMatchObject({ thread_unread: 0 });
        // A first read is clamped too, and so is the root author's.
        const far = await run(store, threadRead(conv, erin, root.seq, 1000));
        expect(far.threadCursor).toMatchObject({ readSeq: 3, unread: 0 });
        expect(await threadOf(store, erin, conv, root.seq)).toMatchObject({ following: true, read_seq: 3 });
        const author = await run(store, threadRead(conv, alice, root.seq, 1000));
        expect(author.threadCursor).toMatchObject({ readSeq: 3, unread: 0 });
        // The root's author follows at 0 already: reading to 0 does not move.
        const eve = uid('eve');
        const conv2 = await createGroup(store, eve, [bob]);
        const root2 = await send(store, conv2, eve, 'root');
        await replyIn(store, conv2, bob, root2.seq);
        expect((await run(store, threadRead(conv2, eve, root2.seq, 0))).threadCursor).toBeUndefined();
        // Others' moves are theirs: bob's cursor in the first thread is unchanged.
        expect(await threadOf(store, bob, conv, root.seq)).toMatchObject({ read_seq: 3, unread: 0 });
        expect(await threadOf(store, carol, conv, root.seq)).toMatchObject({ read_seq: 2, unread: 1 });
      });

      it('is not_found without a thread under the seq, and for strangers and removed members alike as for an unknown conversation', async () => {
        const [alice, bob, carol, stranger] = ids('alice', 'bob', 'carol', 'stranger');
        const conv = await createGroup(store, alice, [bob, carol]);
        const root = await send(store, conv, alice, 'root');
        const plain = await send(store, conv, alice, 'no replies');
        const r = await replyIn(store, conv, bob, root.seq);
        for (const target of [plain.seq, r.seq, 1, r.seq + 10]) {
          expect((await reject(store, threadRead(conv, carol, target, 1))).code, `root ${target}`).toBe(
            'not_found',
          );
        }
        const ghost = await refusal(store, threadRead(unknownConversation(), stranger, root.seq, 1));
        expect(ghost.code).toBe('not_found');
        expect(await refusal(store, threadRead(conv, stranger, root.seq, 1))).toEqual(ghost);
        await removeMember(store, conv, alice, carol);
        expect(await refusal(store, threadRead(conv, carol, root.seq, 1))).toEqual(ghost);
        // A removed follower's cursor cannot move either.
        await removeMember(store, conv, alice, bob);
        expect(await refusal(store, threadRead(conv, bob, root.seq, 1))).toEqual(ghost);
      });
    });

    describe('deleting a reply', () => {
      it('takes it out of unread, keeps reply_count and its place (a tombstone with data.thread only)', async () => {
        const [alice, bob, carol] = ids('alice', 'bob', 'carol');
        const conv = await createGroup(store, alice, [bob, carol]);
        const root = await send(store, conv, alice, 'root');
        const r1 = await replyIn(store, conv, bob, root.seq, 'secret reply');
        const r2 = only(await run(store, reply(conv, carol, root.seq, 'second', { mentions: [alice] })));
        expect(await summary(store, alice, conv)).toMatchObject({ thread_unread: 2, mentions: 1 });
        await run(store, del(conv, bob, r1.seq));
        await run(store, del(conv, carol, r2.seq));
        expect(await summary(store, alice, conv)).toMatchObject({ thread_unread: 0, mentions: 0 });
        const thread = await threadOf(store, alice, conv, root.seq);
        expect(thread).toMatchObject({ reply_count: 2, last_reply_seq: r2.seq, following: true, unread: 0 });
        const stored = await wholeThread(store, alice, conv, root.seq);
        expect(stored.map((e) => [e.seq, e.deleted, e.body])).toEqual([
          [r1.seq, true, null],
          [r2.seq, true, null],
        ]);
        expect(stored.map((e) => e.data)).toEqual([
          { thread: { root_seq: root.seq, seq: 1 } },
          { thread: { root_seq: root.seq, seq: 2 } },
        ]);
        expect(JSON.stringify(await fetched(store, carol, conv))).not.toContain('secret reply');
        // The next reply takes the next seq: a tombstone keeps its place.
        const r3 = await replyIn(store, conv, carol, root.seq, 'third');
        expect(r3.data?.thread?.seq).toBe(3);
        expect(await summary(store, alice, conv)).toMatchObject({ thread_unread: 1 });
        expect((await run(store, threadRead(conv, bob, root.seq, 3))).threadCursor).toMatchObject({
          readSeq: 3,
          unread: 0,
        });
      });

      it('a deleted reply that quoted a message stays data.thread only when the quoted message is deleted after it', async () => {
        const [alice, bob] = ids('alice', 'bob');
        const conv = await createGroup(store, alice, [bob]);
        const parent = await send(store, conv, alice, 'quoted');
        const root = await send(store, conv, alice, 'root');
        const quoting = only(
          await run(store, reply(conv, bob, root.seq, 'quoting', { replyTo: parent.seq })),
        );
        expect(quoting.data?.reply_to).toMatchObject({ seq: parent.seq, body: 'quoted' });
        await run(store, del(conv, bob, quoting.seq));
        await run(store, del(conv, alice, parent.seq));
        const [stored] = await wholeThread(store, alice, conv, root.seq);
        expect(stored?.data).toEqual({ thread: { root_seq: root.seq, seq: 1 } });
      });
    });
  });
}
