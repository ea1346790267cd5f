import { randomUUID } from 'node:crypto';
import type {
  ChatEvent,
  ConversationSummary,
  ErrorFrame,
  EventFrame,
  EventsFrame,
  ThreadReceiptFrame,
} from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AckedEvent,
  changeMember,
  deleteMessage,
  expectAckedEvent,
  messageIn,
  type SendOptions,
  sendMessage,
  summaryOf,
} from '../helpers/chat-requests.js';
import { closeAll, expectAck, expectError, expectFrame, TestClient } from '../helpers/client.js';
import { unknownConversationId, withoutRe } from '../helpers/members-only.js';
import { createGroup, startTestServer, type TestServer, uid } from '../helpers/server.js';

/** Threads over real sockets: a sub-timeline under a root with its own gap-free sequence. */
describe('threads', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ sendsPerSecond: 1000, sendBurst: 1000, frameBurst: 2000 });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  /** A reply in the thread under `root` that must be acked with the stored event. */
  async function replyOk(
    c: TestClient,
    conv: string,
    root: number,
    body: string,
    options: SendOptions = {},
  ): Promise<AckedEvent> {
    return expectAckedEvent(
      await sendMessage(c, conv, body, { ...options, threadRoot: root }),
      'a thread reply',
    );
  }

  const threadHistory = (c: TestClient, conv: string, root: number, before?: number, limit?: number) => {
    const frame: { type: string; [k: string]: unknown } = {
      type: 'thread_history',
      conversation_id: conv,
      root_seq: root,
    };
    if (before !== undefined) frame.before_thread_seq = before;
    if (limit !== undefined) frame.limit = limit;
    return c.request<EventsFrame | ErrorFrame>(frame);
  };

  /** Every reply of a thread the client may see, paging thread_history backwards. */
  async function wholeThread(c: TestClient, conv: string, root: number, limit = 3): Promise<ChatEvent[]> {
    const pages: ChatEvent[][] = [];
    let before: number | undefined;
    for (let guard = 0; guard < 1000; guard++) {
      const page = expectFrame(await threadHistory(c, conv, root, before, limit), 'events');
      expect(page.conversation_id).toBe(conv);
      pages.unshift(page.events);
      const first = page.events[0];
      if (!page.has_more || first === undefined) return pages.flat();
      before = first.data!.thread!.seq;
    }
    throw new Error('thread_history never ended');
  }

  const threadRead = (c: TestClient, conv: string, root: number, threadSeq: number) =>
    c.request({ type: 'thread_read', conversation_id: conv, root_seq: root, thread_seq: threadSeq });

  /** Each client's change token from before anything was sent: a sync from it returns the events. */
  const origins = new WeakMap<TestClient, string>();
  async function remember(clients: TestClient[]): Promise<void> {
    for (const c of clients) origins.set(c, expectFrame(await c.sync(), 'sync_result').token);
  }

  /** Every event since the client's first token, as a sync returns them. */
  async function syncedEvents(c: TestClient): Promise<ChatEvent[]> {
    const since = origins.get(c);
    if (since === undefined) throw new Error('remember() the client first');
    const answer = expectFrame(await c.sync(since), 'sync_result');
    expect(answer.truncated).toEqual([]);
    return answer.events;
  }

  /** The root as history, fetch and sync return it to `c`: they must agree. */
  async function rootAsRead(c: TestClient, conv: string, root: number): Promise<ChatEvent> {
    const fromHistory = messageIn(await c.fullHistory(conv), root);
    const fromFetch = messageIn(expectFrame(await c.fetch(conv, root - 1, 1), 'events').events, root);
    const fromSync = messageIn(await syncedEvents(c), root);
    expect(fromFetch, 'fetch agrees with history').toEqual(fromHistory);
    expect(fromSync, 'sync agrees with history').toEqual(fromHistory);
    return fromHistory;
  }

  const receiptsOf = (c: TestClient, from = 0): ThreadReceiptFrame[] =>
    c.frames.slice(from).filter((f): f is ThreadReceiptFrame => f.type === 'thread_receipt');

  async function setup() {
    const [owner, alice, bob, carol] = [uid('owner'), uid('alice'), uid('bob'), uid('carol')];
    const conv = await createGroup(server.httpUrl, owner, [alice, bob, carol], 'threads');
    const o = await TestClient.open(server.wsUrl, { user: owner });
    const a = await TestClient.open(server.wsUrl, { user: alice });
    const b1 = await TestClient.open(server.wsUrl, { user: bob }, { deviceId: 'b1' });
    const b2 = await TestClient.open(server.wsUrl, { user: bob }, { deviceId: 'b2' });
    const c = await TestClient.open(server.wsUrl, { user: carol });
    await remember([o, a, b1, b2, c]);
    return { owner, alice, bob, carol, conv, o, a, b1, b2, c, all: [o, a, b1, b2, c] };
  }

  describe('thread seqs', () => {
    it('a reply takes the next conversation seq and thread seq 1, 2, 3; two roots count apart; live to every device but the sending connection', async () => {
      const { alice, bob, carol, conv, o, a, b1, b2, c, all } = await setup();
      try {
        const root = await a.sendOk(conv, 'root one');
        const root2 = await o.sendOk(conv, 'root two');
        const steps: Array<[TestClient, string, number, number]> = [
          [b1, bob, root.seq, 1],
          [c, carol, root.seq, 2],
          [a, alice, root2.seq, 1],
          [a, alice, root.seq, 3],
          [b1, bob, root2.seq, 2],
        ];
        let seq = root2.seq;
        for (const [sender, senderId, rootSeq, threadSeq] of steps) {
          const marks = new Map(all.map((client) => [client, client.mark()] as const));
          const ack = await replyOk(sender, conv, rootSeq, `${threadSeq} under ${rootSeq}`);
          expect(ack).toMatchObject({ seq: ++seq, duplicate: false, conversation_id: conv });
          expect(ack.event).toMatchObject({
            conversation_id: conv,
            seq,
            kind: 'message',
            sender_id: senderId,
            body: `${threadSeq} under ${rootSeq}`,
            client_msg_id: ack.client_msg_id,
            deleted: false,
          });
          expect(ack.event.data).toEqual({ thread: { root_seq: rootSeq, seq: threadSeq } });
          for (const receiver of all) {
            if (receiver === sender) continue;
            const pushed = await receiver.waitFor<EventFrame>(
              (f) => f.type === 'event' && f.event.seq === ack.seq,
              { from: marks.get(receiver), label: 'thread reply event' },
            );
            expect(pushed.event).toEqual(ack.event);
          }
          await sender.pingPong();
          expect(
            sender.frames
              .slice(marks.get(sender))
              .filter((f) => f.type === 'event' && f.event.seq === ack.seq),
            'the sending connection hears of its reply only in the ack',
          ).toEqual([]);
        }
        // bob's other device got bob's replies live.
        expect(
          b2
            .liveEvents(conv)
            .filter((e) => e.sender_id === bob)
            .map((e) => e.data?.thread),
        ).toEqual([
          { root_seq: root.seq, seq: 1 },
          { root_seq: root2.seq, seq: 2 },
        ]);
        const h = await o.fullHistory(conv);
        expect(h.map((e) => e.seq)).toEqual(h.map((_, i) => i + 1));
      } finally {
        await closeAll(all);
      }
    });

    it('a retried reply answers duplicate:true with the same seq and thread seq, stores no second reply and leaves reply_count', async () => {
      const { conv, o, a, b1, b2, c, all } = await setup();
      try {
        const root = await a.sendOk(conv, 'root');
        const cmid = randomUUID();
        const first = await replyOk(b1, conv, root.seq, 'only once', { cmid });
        await c.waitFor((f) => f.type === 'event' && f.event.seq === first.seq);
        const mark = c.mark();
        const retry = await replyOk(b1, conv, root.seq, 'only once', { cmid });
        expect(retry).toMatchObject({ seq: first.seq, duplicate: true, client_msg_id: cmid });
        expect(retry.event).toEqual(first.event);
        // The same retry from bob's other device (after a reconnect, say) is the same reply too.
        const again = await replyOk(b2, conv, root.seq, 'only once', { cmid });
        expect(again).toMatchObject({ seq: first.seq, duplicate: true });
        expect(again.event.data?.thread).toEqual({ root_seq: root.seq, seq: 1 });
        // Nothing new was pushed: the next thing c hears is the next reply, thread seq 2.
        const next = await replyOk(o, conv, root.seq, 'second');
        expect(next.seq).toBe(first.seq + 1);
        expect(next.event.data?.thread).toEqual({ root_seq: root.seq, seq: 2 });
        const pushed = await c.waitFor<EventFrame>((f) => f.type === 'event', { from: mark });
        expect(pushed.event.seq).toBe(next.seq);
        const h = await c.fullHistory(conv);
        expect(h.filter((e) => e.client_msg_id === cmid)).toHaveLength(1);
        expect(messageIn(h, root.seq).thread?.reply_count).toBe(2);
      } finally {
        await closeAll(all);
      }
    });

    it('many replies from several clients at once: thread seqs exactly 1..N per root, conversation seqs gap-free', async () => {
      const { conv, o, a, b1, b2, c, all } = await setup();
      try {
        const rootA = await a.sendOk(conv, 'root a');
        const rootB = await o.sendOk(conv, 'root b');
        const PER_CLIENT = 12;
        const senders = [o, a, b1, b2, c];
        const sent = await Promise.all(
          senders.flatMap((sender, n) =>
            Array.from({ length: PER_CLIENT }, (_, i) =>
              i % 4 === 3
                ? sendMessage(sender, conv, `plain ${n}.${i}`)
                : sendMessage(sender, conv, `${n}.${i}`, { threadRoot: i % 3 === 0 ? rootB.seq : rootA.seq }),
            ),
          ),
        );
        const acks = sent.map(expectAck);
        expect(new Set(acks.map((x) => x.seq)).size).toBe(acks.length);
        const h = await o.fullHistory(conv);
        expect(
          h.map((e) => e.seq),
          'conversation seqs gap-free',
        ).toEqual(h.map((_, i) => i + 1));
        expect(h.at(-1)?.seq).toBe(rootB.seq + acks.length);
        for (const root of [rootA, rootB]) {
          const replies = h.filter((e) => e.data?.thread?.root_seq === root.seq);
          const acked = acks.filter((x) => x.event?.data?.thread?.root_seq === root.seq);
          expect(replies.length).toBe(acked.length);
          // In commit (conversation seq) order the thread seqs are exactly 1..N: no gap, no repeat.
          expect(replies.map((e) => e.data?.thread?.seq)).toEqual(replies.map((_, i) => i + 1));
          expect(acked.map((x) => x.event!.data!.thread!.seq).sort((x, y) => x - y)).toEqual(
            replies.map((_, i) => i + 1),
          );
          // Each ack carries the event as stored.
          for (const x of acked) expect(messageIn(h, x.seq)).toEqual(x.event);
          expect(messageIn(h, root.seq).thread?.reply_count).toBe(replies.length);
          expect(await wholeThread(c, conv, root.seq, 7)).toEqual(replies);
        }
        // Every other member got every reply live, once.
        await c.pingPong();
        const live = c.liveEvents(conv).filter((e) => e.seq > rootB.seq);
        const fromOthers = h.filter((e) => e.seq > rootB.seq && e.sender_id !== c.ready!.user_id);
        expect(live.map((e) => e.seq).sort((x, y) => x - y)).toEqual(fromOthers.map((e) => e.seq));
      } finally {
        await closeAll(all);
      }
    });
  });

  describe('roots and access', () => {
    it('a root must be a message the sender can see, not deleted: else not_found exactly like a seq that does not exist; a reply is no root (bad_request)', async () => {
      const { owner, conv, o, a, b1, all } = await setup();
      const late = uid('late');
      try {
        const early = await a.sendOk(conv, 'before late joined');
        const gone = await a.sendOk(conv, 'deleted');
        const edited = expectAck(
          await a.request({
            type: 'edit',
            conversation_id: conv,
            client_msg_id: randomUUID(),
            target_seq: early.seq,
            body: 'edited',
          }),
        );
        expectAck(await deleteMessage(a, conv, gone.seq));
        const joined = await changeMember(server.httpUrl, 'POST', conv, owner, late);
        const l = await TestClient.open(server.wsUrl, { user: late });
        all.push(l);
        const root = await o.sendOk(conv, 'root');
        const r1 = await replyOk(b1, conv, root.seq, 'reply');
        const nothing = withoutRe(await sendMessage(l, conv, 'x', { threadRoot: r1.seq + 100 }));
        expect(nothing.code).toBe('not_found');
        for (const [sender, target] of [
          [l, 1],
          [a, edited.seq],
          [a, gone.seq],
          [l, early.seq],
          [l, joined],
        ] as const) {
          expect(
            withoutRe(await sendMessage(sender, conv, 'x', { threadRoot: target })),
            `root ${target}`,
          ).toEqual(nothing);
        }
        expectError(await sendMessage(a, conv, 'nested', { threadRoot: r1.seq }), 'bad_request');
        // Nothing was stored by any of these; the late joiner may reply under what they can see.
        const h = await o.fullHistory(conv);
        expect(h.at(-1)?.seq).toBe(r1.seq);
        const ok = await replyOk(l, conv, root.seq, 'late reply');
        expect(ok.seq).toBe(r1.seq + 1);
        expect(ok.event.data?.thread).toEqual({ root_seq: root.seq, seq: 2 });
      } finally {
        await closeAll(all);
      }
    });

    it('strangers and removed members can neither reply, page nor mark read, with errors identical to a conversation that does not exist, and get no live frames', async () => {
      const { owner, alice, conv, o, a, b1, b2, c, all } = await setup();
      const stranger = uid('stranger');
      const x = await TestClient.open(server.wsUrl, { user: stranger });
      all.push(x);
      const ghost = unknownConversationId();
      try {
        const root = await o.sendOk(conv, 'root');
        const r1 = await replyOk(a, conv, root.seq, 'members only');
        await c.waitFor((f) => f.type === 'event' && f.event.seq === r1.seq);
        const removal = await changeMember(server.httpUrl, 'DELETE', conv, owner, c.ready!.user_id);
        const attempts: Array<(id: string) => Record<string, unknown> & { type: string }> = [
          (id) => ({
            type: 'send',
            conversation_id: id,
            client_msg_id: randomUUID(),
            body: 'intrude',
            thread_root: root.seq,
          }),
          (id) => ({ type: 'thread_history', conversation_id: id, root_seq: root.seq }),
          (id) => ({ type: 'thread_history', conversation_id: id, root_seq: root.seq, before_thread_seq: 2 }),
          (id) => ({ type: 'thread_read', conversation_id: id, root_seq: root.seq, thread_seq: 1 }),
        ];
        const marks = new Map([x, c].map((client) => [client, client.mark()] as const));
        for (const make of attempts) {
          const none = withoutRe(await x.request(make(ghost)));
          expect(none.code).toBe('not_found');
          expect(withoutRe(await x.request(make(conv))), `${make(conv).type}: stranger`).toEqual(none);
          // A removed member may still page what they saw (see below), but not reply or mark read.
          if (make(conv).type !== 'thread_history') {
            expect(withoutRe(await c.request(make(conv))), `${make(conv).type}: removed`).toEqual(none);
          }
        }
        // The members' activity in the thread reaches neither of them.
        const r2 = await replyOk(a, conv, root.seq, 'after the removal');
        await b2.waitFor((f) => f.type === 'event' && f.event.seq === r2.seq);
        expect(expectFrame(await threadRead(b1, conv, root.seq, 2), 'ok')).toBeDefined();
        await b2.waitFor((f) => f.type === 'thread_receipt');
        expect(expectFrame(await threadRead(a, conv, root.seq, 2), 'ok')).toBeDefined();
        for (const outsider of [x, c]) {
          await outsider.pingPong();
          const leaked = outsider.frames
            .slice(marks.get(outsider))
            .filter(
              (f) =>
                (f.type === 'event' && f.event.conversation_id === conv && f.event.seq > removal) ||
                (f.type === 'thread_receipt' && f.conversation_id === conv) ||
                ((f.type === 'receipt' || f.type === 'typing') && f.conversation_id === conv),
            );
          expect(leaked).toEqual([]);
        }
        // The removed member's view of the thread stops at the removal.
        expect(await wholeThread(c, conv, root.seq)).toEqual([r1.event]);
        expect(removal).toBeLessThan(r2.seq);
        // Nothing was stored by the stranger or the removed member.
        const h = await o.fullHistory(conv);
        expect(h.filter((e) => e.data?.thread).map((e) => e.sender_id)).toEqual([alice, alice]);
      } finally {
        await closeAll(all);
      }
    });
  });

  describe('reads', () => {
    it('the root carries each reader’s thread summary in history, fetch and sync; replies come as ordinary events', async () => {
      const owner = uid('owner');
      const repliers = [uid('u1'), uid('u2'), uid('u3'), uid('u4'), uid('u5'), uid('u6')];
      const bystander = uid('bystander');
      const conv = await createGroup(server.httpUrl, owner, [...repliers, bystander], 'participants');
      const o = await TestClient.open(server.wsUrl, { user: owner });
      const y = await TestClient.open(server.wsUrl, { user: bystander });
      const u = await Promise.all(repliers.map((id) => TestClient.open(server.wsUrl, { user: id })));
      const all = [o, y, ...u];
      await remember(all);
      try {
        const root = await o.sendOk(conv, 'root');
        const lonely = await o.sendOk(conv, 'nobody answers');
        // u1, u2, u1, u3, u4, u5, u6
        const order = [0, 1, 0, 2, 3, 4, 5];
        const replies: AckedEvent[] = [];
        for (const i of order) replies.push(await replyOk(u[i]!, conv, root.seq, `from u${i + 1}`));
        const last = replies.at(-1)!;
        const common = {
          reply_count: 7,
          last_reply_seq: last.seq,
          last_reply_at: last.event.created_at,
          participants: [repliers[5], repliers[4], repliers[3], repliers[2], repliers[0]],
        };
        expect((await rootAsRead(o, conv, root.seq)).thread).toEqual({
          ...common,
          following: true,
          read_seq: 0,
          unread: 7,
        });
        expect((await rootAsRead(u[0]!, conv, root.seq)).thread).toEqual({
          ...common,
          following: true,
          read_seq: 3,
          unread: 4,
        });
        expect((await rootAsRead(u[5]!, conv, root.seq)).thread).toEqual({
          ...common,
          following: true,
          read_seq: 7,
          unread: 0,
        });
        expect((await rootAsRead(y, conv, root.seq)).thread).toEqual({
          ...common,
          following: false,
          read_seq: 0,
          unread: 0,
        });
        expect('thread' in (await rootAsRead(y, conv, lonely.seq))).toBe(false);
        // Replies: through history, fetch and sync, exactly as acked (data.thread, no summary).
        const h = await y.fullHistory(conv);
        const f = expectFrame(await y.fetch(conv, 0, 100), 'events').events;
        const s = await syncedEvents(y);
        for (const r of replies) {
          for (const events of [h, f, s]) expect(messageIn(events, r.seq)).toEqual(r.event);
        }
        // Live pushes of a reply carry no summary; the root is not pushed again.
        expect(y.liveEvents(conv).filter((e) => e.thread !== undefined)).toEqual([]);
      } finally {
        await closeAll(all);
      }
    });

    it('thread_history pages a thread: newest page, before_thread_seq, limit, has_more; only replies in the thread', async () => {
      const { conv, o, a, b1, c, all } = await setup();
      try {
        const root = await a.sendOk(conv, 'root');
        const other = await o.sendOk(conv, 'other root');
        const replies: AckedEvent[] = [];
        for (let i = 1; i <= 7; i++) {
          replies.push(await replyOk(i % 2 === 0 ? b1 : c, conv, root.seq, `reply ${i}`));
          if (i % 2 === 0) await o.sendOk(conv, `plain ${i}`);
          if (i % 3 === 0) await replyOk(a, conv, other.seq, `elsewhere ${i}`);
        }
        const events = replies.map((r) => r.event);
        const page = async (before?: number, limit?: number) => {
          const p = expectFrame(await threadHistory(o, conv, root.seq, before, limit), 'events');
          expect(p.conversation_id).toBe(conv);
          return { events: p.events, has_more: p.has_more };
        };
        expect(await page(undefined, 3)).toEqual({ events: events.slice(4), has_more: true });
        expect(await page(5, 3)).toEqual({ events: events.slice(1, 4), has_more: true });
        expect(await page(2, 3)).toEqual({ events: events.slice(0, 1), has_more: false });
        expect(await page(1, 3)).toEqual({ events: [], has_more: false });
        expect(await page()).toEqual({ events, has_more: false });
        expect(await page(undefined, 7)).toEqual({ events, has_more: false });
        expect(await page(undefined, 6)).toEqual({ events: events.slice(1), has_more: true });
        expect(await wholeThread(b1, conv, root.seq, 2)).toEqual(events);
        // Limits: 1..100.
        for (const limit of [0, 101]) {
          const { frame } = await o.requestLoose({
            type: 'thread_history',
            conversation_id: conv,
            root_seq: root.seq,
            limit,
          });
          expectError(frame, 'bad_request');
        }
        // not_found for a seq that is no root: nothing there, not a message, a reply; like an unknown conversation.
        const ghost = unknownConversationId();
        const none = withoutRe(await threadHistory(o, ghost, root.seq));
        expect(none.code).toBe('not_found');
        for (const seq of [1, replies[0]!.seq, 1000]) {
          expect(withoutRe(await threadHistory(o, conv, seq)), `root ${seq}`).toEqual(none);
        }
      } finally {
        await closeAll(all);
      }
    });

    it('a member who joined late sees only the replies after joining; a removed member’s view stops at the removal', async () => {
      const { owner, conv, o, a, b1, c, all } = await setup();
      const late = uid('late');
      try {
        const root = await a.sendOk(conv, 'root');
        const r1 = await replyOk(b1, conv, root.seq, 'one');
        const r2 = await replyOk(c, conv, root.seq, 'two');
        await changeMember(server.httpUrl, 'POST', conv, owner, late);
        const l = await TestClient.open(server.wsUrl, { user: late });
        all.push(l);
        const r3 = await replyOk(b1, conv, root.seq, 'three');
        await l.waitFor((f) => f.type === 'event' && f.event.seq === r3.seq);
        const removal = await changeMember(server.httpUrl, 'DELETE', conv, owner, c.ready!.user_id);
        const r4 = await replyOk(o, conv, root.seq, 'four');
        await l.waitFor((f) => f.type === 'event' && f.event.seq === r4.seq);

        expect(await wholeThread(a, conv, root.seq)).toEqual([r1, r2, r3, r4].map((r) => r.event));
        expect(await wholeThread(l, conv, root.seq, 1)).toEqual([r3, r4].map((r) => r.event));
        expect(await wholeThread(c, conv, root.seq, 2)).toEqual([r1, r2, r3].map((r) => r.event));
        // The former member's root: the thread as of the removal, nobody named, not followed.
        const seen = await c.fullHistory(conv);
        expect(seen.at(-1)?.seq).toBe(removal);
        expect(messageIn(seen, root.seq).thread).toEqual({
          reply_count: 3,
          last_reply_seq: r3.seq,
          last_reply_at: r3.event.created_at,
          participants: [],
          following: false,
          read_seq: 0,
          unread: 0,
        });
        // The late joiner cannot see the root, nor start anything under it.
        expect((await l.fullHistory(conv)).some((e) => e.seq === root.seq)).toBe(false);
        expectError(await sendMessage(l, conv, 'x', { threadRoot: root.seq }), 'not_found');
      } finally {
        await closeAll(all);
      }
    });
  });

  describe('conversation summary', () => {
    it('thread replies are neither unread nor last_message; thread_unread counts followed threads; their mentions count', async () => {
      const { alice, bob, conv, o, a, b1, b2, c, all } = await setup();
      try {
        const root = await a.sendOk(conv, 'root');
        const r1 = await replyOk(b1, conv, root.seq, 'bob answers');
        // A reply in a thread can quote and mention, too.
        const r2 = await replyOk(c, conv, root.seq, 'hey alice', { replyTo: r1.seq, mentions: [alice] });
        expect(r2.event.data).toMatchObject({
          thread: { root_seq: root.seq, seq: 2 },
          mentions: [alice],
          reply_to: { seq: r1.seq, sender_id: bob, body: 'bob answers', deleted: false },
        });
        const expected: Array<[TestClient, Partial<ConversationSummary>]> = [
          // root author: follows from the first reply, nothing read there; mentioned once.
          [a, { unread: 0, thread_unread: 2, mentions: 1 }],
          // a replier follows at their reply: carol's is unread; the root is unread in the timeline.
          [b1, { unread: 1, thread_unread: 1, mentions: 0 }],
          [b2, { unread: 1, thread_unread: 1, mentions: 0 }],
          [c, { unread: 1, thread_unread: 0, mentions: 0 }],
          // not following: nothing counts in threads.
          [o, { unread: 1, thread_unread: 0, mentions: 0 }],
        ];
        for (const [client, fields] of expected) {
          const s = await summaryOf(client, conv);
          expect(s, client.ready!.user_id).toMatchObject(fields);
          expect(s.last_message?.seq, 'a thread reply is never the last message').toBe(root.seq);
          expect(s.last_seq).toBe(r2.seq);
          expect(s.updated_at).toBe(r2.event.created_at);
        }
        // A second thread carol follows as its root's author.
        const root2 = await c.sendOk(conv, 'carol asks');
        await replyOk(o, conv, root2.seq, 'owner answers');
        await replyOk(b2, conv, root2.seq, 'bob too', { mentions: ['@all'] });
        expect(await summaryOf(c, conv)).toMatchObject({ thread_unread: 2, unread: 0, mentions: 1 });
        expect(await summaryOf(b1, conv)).toMatchObject({ thread_unread: 1, unread: 2, mentions: 0 });
        expect(await summaryOf(a, conv)).toMatchObject({ thread_unread: 2, unread: 1, mentions: 2 });
        expect((await summaryOf(a, conv)).last_message?.seq).toBe(root2.seq);
      } finally {
        await closeAll(all);
      }
    });
  });

  describe('thread_read', () => {
    it('moves forward only, clamped; a first read follows; thread_receipt goes to all the reader’s devices and nobody else; the token moves', async () => {
      const { conv, o, a, b1, b2, c, all } = await setup();
      try {
        const root = await a.sendOk(conv, 'root');
        const replies: AckedEvent[] = [];
        for (const sender of [a, c, a]) replies.push(await replyOk(sender, conv, root.seq, 'r'));
        expectError(await threadRead(b1, conv, replies[0]!.seq, 1), 'not_found');
        const plain = await o.sendOk(conv, 'no thread here');
        expectError(await threadRead(b1, conv, plain.seq, 1), 'not_found');

        const before = expectFrame(await b2.sync(), 'sync_result');
        expect(before.conversations.find((s) => s.conversation_id === conv)).toMatchObject({
          thread_unread: 0,
        });
        expect((await rootAsRead(b2, conv, root.seq)).thread).toMatchObject({ following: false, unread: 0 });
        const marks = new Map(all.map((client) => [client, client.mark()] as const));

        // First read, at 0: it moves (bob follows now).
        expectFrame(await threadRead(b1, conv, root.seq, 0), 'ok');
        const expected0 = {
          type: 'thread_receipt',
          conversation_id: conv,
          root_seq: root.seq,
          read_seq: 0,
          unread: 3,
        };
        for (const device of [b1, b2]) {
          const r = await device.waitFor((f) => f.type === 'thread_receipt', { from: marks.get(device) });
          expect(r).toEqual(expected0);
        }
        // Another device's sync sees the same: the change token moved and the summary comes again.
        const afterFirst = expectFrame(await b2.sync(before.token), 'sync_result');
        expect(afterFirst.token).not.toBe(before.token);
        expect(afterFirst.conversations.find((s) => s.conversation_id === conv)).toMatchObject({
          thread_unread: 3,
        });
        expect((await rootAsRead(b2, conv, root.seq)).thread).toMatchObject({
          following: true,
          read_seq: 0,
          unread: 3,
        });

        // Forward, from the other device, without an id: no answer, the receipt all the same.
        const m2 = b1.mark();
        b2.sendJson({ type: 'thread_read', conversation_id: conv, root_seq: root.seq, thread_seq: 2 });
        expect(await b1.waitFor((f) => f.type === 'thread_receipt', { from: m2 })).toEqual({
          ...expected0,
          read_seq: 2,
          unread: 1,
        });
        await b2.waitFor((f) => f.type === 'thread_receipt' && f.read_seq === 2);
        expect((await summaryOf(b1, conv, afterFirst.token)).thread_unread).toBe(1);

        // Backwards and in place: ok, but nothing moves (no receipt, same token): the next receipt
        // is the clamped read to 3.
        const tokenAt2 = expectFrame(await b2.sync(afterFirst.token), 'sync_result').token;
        const m3 = new Map([b1, b2].map((d) => [d, d.mark()] as const));
        expectFrame(await threadRead(b1, conv, root.seq, 1), 'ok');
        expectFrame(await threadRead(b2, conv, root.seq, 2), 'ok');
        expectFrame(await threadRead(b2, conv, root.seq, 0), 'ok');
        const still = expectFrame(await b2.sync(tokenAt2), 'sync_result');
        expect(still.conversations.map((s) => s.conversation_id)).not.toContain(conv);
        expectFrame(await threadRead(b1, conv, root.seq, 99), 'ok');
        for (const device of [b1, b2]) {
          await device.waitFor((f) => f.type === 'thread_receipt' && f.read_seq === 3, {
            from: m3.get(device),
          });
          expect(receiptsOf(device, m3.get(device))).toEqual([{ ...expected0, read_seq: 3, unread: 0 }]);
        }
        const afterClamp = expectFrame(await b2.sync(tokenAt2), 'sync_result');
        expect(afterClamp.token).not.toBe(tokenAt2);
        expect(afterClamp.conversations.find((s) => s.conversation_id === conv)).toMatchObject({
          thread_unread: 0,
        });
        expect((await rootAsRead(b1, conv, root.seq)).thread).toMatchObject({ read_seq: 3, unread: 0 });

        // Nobody else heard of bob's thread cursor.
        for (const other of [o, a, c]) {
          await other.pingPong();
          expect(receiptsOf(other, marks.get(other)), other.ready!.user_id).toEqual([]);
        }
        // A new reply by someone else is unread for bob again.
        await replyOk(c, conv, root.seq, 'more');
        expect((await summaryOf(b2, conv)).thread_unread).toBe(1);
      } finally {
        await closeAll(all);
      }
    });

    it('the root’s author follows from the first reply and reads like anyone; a replier’s cursor sits at their reply', async () => {
      const { conv, a, b1, c, all } = await setup();
      try {
        const root = await a.sendOk(conv, 'root');
        await replyOk(b1, conv, root.seq, 'one');
        await replyOk(c, conv, root.seq, 'two');
        expect((await rootAsRead(a, conv, root.seq)).thread).toMatchObject({
          following: true,
          read_seq: 0,
          unread: 2,
        });
        expect((await rootAsRead(b1, conv, root.seq)).thread).toMatchObject({
          following: true,
          read_seq: 1,
          unread: 1,
        });
        expect((await rootAsRead(c, conv, root.seq)).thread).toMatchObject({
          following: true,
          read_seq: 2,
          unread: 0,
        });
        const mark = a.mark();
        expectFrame(await threadRead(a, conv, root.seq, 1), 'ok');
        expect(await a.waitFor((f) => f.type === 'thread_receipt', { from: mark })).toMatchObject({
          read_seq: 1,
          unread: 1,
        });
        expect(await summaryOf(a, conv)).toMatchObject({ thread_unread: 1 });
      } finally {
        await closeAll(all);
      }
    });
    it('a late joiner cannot follow a thread under a root from before they joined: not_found as for no thread, and nothing counts', async () => {
      const { owner, conv, a, b1, c, all } = await setup();
      const late = uid('late');
      try {
        const root = await a.sendOk(conv, 'root');
        await replyOk(b1, conv, root.seq, 'one');
        await replyOk(c, conv, root.seq, 'two');
        await changeMember(server.httpUrl, 'POST', conv, owner, late);
        const l1 = await TestClient.open(server.wsUrl, { user: late }, { deviceId: 'l1' });
        all.push(l1);
        const r3 = await replyOk(b1, conv, root.seq, 'three');
        expect(await wholeThread(l1, conv, root.seq)).toEqual([r3.event]);
        const refused = await threadRead(l1, conv, root.seq, 0);
        const noThread = await threadRead(l1, conv, r3.event.seq + 1000, 0);
        expect(refused).toMatchObject({
          type: 'error',
          code: 'not_found',
          message: 'No thread under that message.',
        });
        expect({ ...refused, re: null }).toEqual({ ...noThread, re: null });
        expect((await summaryOf(l1, conv)).thread_unread).toBe(0);
      } finally {
        await closeAll(all);
      }
    });
  });

  describe('deleting', () => {
    it('the root: a tombstone that keeps its thread summary; thread_history still returns the replies; a new reply is not_found', async () => {
      const { carol, bob, conv, o, a, b1, c, all } = await setup();
      try {
        const root = await a.sendOk(conv, 'root to delete');
        const r1 = await replyOk(b1, conv, root.seq, 'one');
        const r2 = await replyOk(c, conv, root.seq, 'two');
        expectAck(await deleteMessage(a, conv, root.seq));
        for (const reader of [o, a, b1, c]) {
          const seen = await rootAsRead(reader, conv, root.seq);
          expect(seen).toMatchObject({ kind: 'message', body: null, deleted: true });
          expect(seen.thread).toMatchObject({
            reply_count: 2,
            last_reply_seq: r2.seq,
            last_reply_at: r2.event.created_at,
            participants: [carol, bob],
          });
          expect(await wholeThread(reader, conv, root.seq)).toEqual([r1.event, r2.event]);
        }
        expectError(await sendMessage(b1, conv, 'too late', { threadRoot: root.seq }), 'not_found');
        expect((await rootAsRead(o, conv, root.seq)).thread?.reply_count).toBe(2);
        expect(await summaryOf(a, conv)).toMatchObject({ thread_unread: 2 });
      } finally {
        await closeAll(all);
      }
    });

    it('a reply: unread no longer counts it, reply_count stays, and it stays in the thread as a tombstone', async () => {
      const { alice, conv, o, a, b1, c, all } = await setup();
      try {
        const root = await a.sendOk(conv, 'root');
        const r1 = await replyOk(b1, conv, root.seq, 'secret reply', { mentions: [alice] });
        const r2 = await replyOk(c, conv, root.seq, 'two');
        expect(await summaryOf(a, conv)).toMatchObject({ thread_unread: 2, mentions: 1 });
        expectAck(await deleteMessage(b1, conv, r1.seq));
        expect(await summaryOf(a, conv)).toMatchObject({ thread_unread: 1, mentions: 0 });
        expect((await rootAsRead(a, conv, root.seq)).thread).toMatchObject({ reply_count: 2, unread: 1 });
        const thread = await wholeThread(o, conv, root.seq);
        expect(thread.map((e) => [e.seq, e.deleted, e.body, e.data])).toEqual([
          [r1.seq, true, null, { thread: { root_seq: root.seq, seq: 1 } }],
          [r2.seq, false, 'two', { thread: { root_seq: root.seq, seq: 2 } }],
        ]);
        expect(JSON.stringify(await o.fullHistory(conv))).not.toContain('secret reply');
        const r3 = await replyOk(c, conv, root.seq, 'three');
        expect(r3.event.data?.thread?.seq).toBe(3);
        const mark = a.mark();
        expectFrame(await threadRead(a, conv, root.seq, 1), 'ok');
        // r1 (deleted) is behind the cursor anyway; r2 and r3 are unread.
        expect(await a.waitFor((f) => f.type === 'thread_receipt', { from: mark })).toMatchObject({
          read_seq: 1,
          unread: 2,
        });
      } finally {
        await closeAll(all);
      }
    });
  });
});
