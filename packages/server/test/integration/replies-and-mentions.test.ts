import { randomUUID } from 'node:crypto';
import { type EventFrame, MAX_MENTIONS, QUOTE_MAX_CHARS } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AckedEvent,
  changeMember,
  deleteMessage,
  editMessage,
  expectAckedEvent,
  messageIn,
  type SendOptions,
  sendMessage,
  summaryOf,
} from '../helpers/chat-requests.js';
import { closeAll, expectAck, expectError, expectFrame, TestClient } from '../helpers/client.js';
import { expectNothingReached, unknownConversationId, withoutRe } from '../helpers/members-only.js';
import { createDirect, createGroup, startTestServer, type TestServer, uid } from '../helpers/server.js';

/** Replies carry a quote of their parent; mentions name members and are counted per reader. */
describe('replies and mentions', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ sendsPerSecond: 1000, sendBurst: 1000, frameBurst: 2000 });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  /** A reply that must be acked with the stored event. */
  async function replyOk(
    c: TestClient,
    conv: string,
    body: string,
    replyTo: number,
    options: SendOptions = {},
  ): Promise<AckedEvent> {
    return expectAckedEvent(await sendMessage(c, conv, body, { ...options, replyTo }), 'a reply');
  }

  const read = async (c: TestClient, conv: string, seq: number) =>
    expectFrame(await c.request({ type: 'receipt', conversation_id: conv, kind: 'read', seq }), 'ok');

  async function setup() {
    const [owner, alice, bob, carol] = [uid('owner'), uid('alice'), uid('bob'), uid('carol')];
    const conv = await createGroup(server.httpUrl, owner, [alice, bob, carol], 'replies');
    const o = await TestClient.open(server.wsUrl, { user: owner });
    const a = await TestClient.open(server.wsUrl, { user: alice });
    const b1 = await TestClient.open(server.wsUrl, { user: bob }, { deviceId: 'b1' });
    const b2 = await TestClient.open(server.wsUrl, { user: bob }, { deviceId: 'b2' });
    const c = await TestClient.open(server.wsUrl, { user: carol });
    return { owner, alice, bob, carol, conv, o, a, b1, b2, c, all: [o, a, b1, b2, c] };
  }

  describe('replies', () => {
    it('quote the parent’s current text (its latest edit) when stored; the ack carries the event, pushed alike to the others', async () => {
      const { alice, bob, conv, o, a, b1, b2, all } = await setup();
      try {
        const parent = await a.sendOk(conv, 'first draft');
        const edited = expectAck(await editMessage(a, conv, parent.seq, 'second draft'));
        expect('event' in edited, 'an edit is acked without the event').toBe(false);
        expectAck(await editMessage(a, conv, parent.seq, 'final text'));
        const marks = new Map(all.map((client) => [client, client.mark()] as const));
        const reply = await replyOk(b1, conv, 'my answer', parent.seq);
        expect(reply).toMatchObject({ duplicate: false, conversation_id: conv });
        expect(reply.event).toMatchObject({
          conversation_id: conv,
          seq: reply.seq,
          kind: 'message',
          sender_id: bob,
          body: 'my answer',
          client_msg_id: reply.client_msg_id,
          deleted: false,
        });
        expect(reply.event.data?.reply_to).toEqual({
          seq: parent.seq,
          sender_id: alice,
          body: 'final text',
          deleted: false,
        });
        for (const receiver of [o, a, b2]) {
          const pushed = await receiver.waitFor<EventFrame>(
            (f) => f.type === 'event' && f.event.seq === reply.seq,
            { from: marks.get(receiver), label: 'reply event' },
          );
          expect(pushed.event).toEqual(reply.event);
        }
        // The quote is a copy: a later edit of the parent leaves it as it was.
        expectAck(await editMessage(a, conv, parent.seq, 'edited after the reply'));
        for (const events of [
          await o.fullHistory(conv),
          expectFrame(await o.fetch(conv, 0), 'events').events,
        ]) {
          expect(messageIn(events, reply.seq).data?.reply_to?.body).toBe('final text');
        }
        // A send without reply_to is acked without the event.
        const plain = expectAck(await sendMessage(a, conv, 'plain'));
        expect('event' in plain).toBe(false);
      } finally {
        await closeAll(all);
      }
    });

    it('content_type: text is stored when given; anything else is bad_request', async () => {
      const { conv, o, a, all } = await setup();
      try {
        const typed = expectAck(await sendMessage(a, conv, 'typed', { contentType: 'text' }));
        const untyped = await a.sendOk(conv, 'untyped');
        const history = await o.fullHistory(conv);
        expect(messageIn(history, typed.seq).data).toEqual({ content_type: 'text' });
        expect(messageIn(history, untyped.seq).data ?? {}).not.toHaveProperty('content_type');
        expectError(await sendMessage(a, conv, '<b>x</b>', { contentType: 'html' }), 'bad_request');
      } finally {
        await closeAll(all);
      }
    });

    it(`the quote keeps at most ${QUOTE_MAX_CHARS} code points, the last replaced by an ellipsis`, async () => {
      const { conv, a, b1, all } = await setup();
      try {
        const cases: Array<[string, string]> = [
          ['😀'.repeat(250), `${'😀'.repeat(QUOTE_MAX_CHARS - 1)}…`],
          ['x'.repeat(QUOTE_MAX_CHARS + 1), `${'x'.repeat(QUOTE_MAX_CHARS - 1)}…`],
          [`${'b'.repeat(100)}${'🎉'.repeat(120)}`, `${'b'.repeat(100)}${'🎉'.repeat(99)}…`],
          // 250 UTF-16 units, but 200 code points: whole.
          [`${'a'.repeat(150)}${'😀'.repeat(50)}`, `${'a'.repeat(150)}${'😀'.repeat(50)}`],
          ['y'.repeat(QUOTE_MAX_CHARS), 'y'.repeat(QUOTE_MAX_CHARS)],
        ];
        for (const [text, quoted] of cases) {
          const parent = await a.sendOk(conv, text);
          const reply = await replyOk(b1, conv, 're', parent.seq);
          expect(reply.event.data?.reply_to?.body).toBe(quoted);
          expect([...(reply.event.data?.reply_to?.body ?? '')].length).toBeLessThanOrEqual(QUOTE_MAX_CHARS);
          expect(messageIn(await a.fullHistory(conv), reply.seq).data?.reply_to?.body).toBe(quoted);
        }
      } finally {
        await closeAll(all);
      }
    });

    it('a member who joined later gets a quote of an earlier message hidden, and an edit of one without its text, live and in history', async () => {
      const { owner, alice, conv, a, b1, all } = await setup();
      const late = uid('late');
      let l: TestClient | undefined;
      try {
        const early = await a.sendOk(conv, 'said before the newcomer');
        await changeMember(server.httpUrl, 'POST', conv, owner, late);
        l = await TestClient.open(server.wsUrl, { user: late });
        const [lMark, bMark] = [l.mark(), b1.mark()];
        const reply = await replyOk(a, conv, 'about that', early.seq);
        const fixed = expectAck(await editMessage(a, conv, early.seq, 'a corrected secret'));
        const pushedTo = async (c: TestClient, from: number, seq: number) =>
          (await c.waitFor<EventFrame>((f) => f.type === 'event' && f.event.seq === seq, { from })).event;
        expect((await pushedTo(l, lMark, reply.seq)).data?.reply_to).toEqual({
          seq: early.seq,
          sender_id: null,
          body: null,
          deleted: false,
          hidden: true,
        });
        expect((await pushedTo(l, lMark, fixed.seq)).body).toBeNull();
        expect((await pushedTo(b1, bMark, reply.seq)).data?.reply_to).toMatchObject({
          sender_id: alice,
          body: 'said before the newcomer',
        });
        expect((await pushedTo(b1, bMark, fixed.seq)).body).toBe('a corrected secret');
        expect(JSON.stringify(await l.fullHistory(conv))).not.toMatch(/secret|said before/);
      } finally {
        await closeAll([...all, l]);
      }
    });

    it('reply_to must be a message the sender can see, not deleted: anything else is not_found like a seq that does not exist, and stores nothing', async () => {
      const { owner, conv, o, a, b1, all } = await setup();
      const late = uid('late');
      let l: TestClient | undefined;
      try {
        const early = await a.sendOk(conv, 'before the newcomer');
        const doomed = await a.sendOk(conv, 'to be deleted');
        const edited = expectAck(await editMessage(a, conv, early.seq, 'edited'));
        const deleted = expectAck(await deleteMessage(a, conv, doomed.seq));
        const joined = await changeMember(server.httpUrl, 'POST', conv, owner, late);
        l = await TestClient.open(server.wsUrl, { user: late });
        const visible = await o.sendOk(conv, 'after the newcomer');
        const missing = expectError(
          await sendMessage(b1, conv, 'x', { replyTo: visible.seq + 1000 }),
          'not_found',
        );
        const cases: Array<[TestClient, number, string]> = [
          [b1, 1, 'the created event'],
          [b1, doomed.seq, 'a deleted message'],
          [b1, deleted.seq, 'a delete event'],
          [b1, edited.seq, 'an edit event'],
          [b1, joined, 'a member_added event'],
          [l, early.seq, 'a message from before the sender joined'],
          [l, visible.seq + 1000, 'a seq beyond the log, for the newcomer'],
        ];
        const refusedIds: string[] = [];
        for (const [client, target, what] of cases) {
          const cmid = randomUUID();
          refusedIds.push(cmid);
          const refused = expectError(
            await sendMessage(client, conv, 'orphan', { replyTo: target, cmid }),
            'not_found',
          );
          expect(withoutRe(refused), what).toEqual(withoutRe(missing));
        }
        const history = await o.fullHistory(conv);
        expect(history.filter((e) => e.body === 'orphan')).toEqual([]);
        // A refused send stored nothing: its client_msg_id is free for a real one.
        const reused = await replyOk(l, conv, 'orphan no more', visible.seq, { cmid: refusedIds.at(-1)! });
        expect(reused.duplicate).toBe(false);
        expect(reused.event.data?.reply_to?.seq).toBe(visible.seq);
      } finally {
        await closeAll([...all, l]);
      }
    });

    it('deleting the parent wipes every reply’s quote in later reads (body null, deleted true), and only the quote', async () => {
      const { alice, conv, o, a, b1, c, all } = await setup();
      try {
        const token = expectFrame(await c.sync(), 'sync_result').token;
        const parent = await a.sendOk(conv, 'top secret plan');
        const other = await a.sendOk(conv, 'unrelated');
        const r1 = await replyOk(b1, conv, 'first reply', parent.seq);
        const r2 = await replyOk(c, conv, 'second reply', parent.seq, {
          mentions: [alice],
          metadata: { card: 'x' },
        });
        const r3 = await replyOk(c, conv, 'reply elsewhere', other.seq);
        expectAck(await deleteMessage(a, conv, parent.seq));
        const wiped = { seq: parent.seq, sender_id: alice, body: null, deleted: true };
        for (const reader of [o, b1, c]) {
          for (const [how, events] of [
            ['history', await reader.fullHistory(conv)],
            ['fetch', expectFrame(await reader.fetch(conv, 0), 'events').events],
          ] as const) {
            expect(messageIn(events, r1.seq), how).toMatchObject({ body: 'first reply', deleted: false });
            expect(messageIn(events, r1.seq).data?.reply_to, how).toEqual(wiped);
            expect(messageIn(events, r2.seq).data, how).toEqual({
              reply_to: wiped,
              mentions: [alice],
              metadata: { card: 'x' },
            });
            expect(messageIn(events, r3.seq).data?.reply_to?.body, how).toBe('unrelated');
            expect(JSON.stringify(events), how).not.toContain('top secret plan');
          }
        }
        const synced = expectFrame(await c.sync(token), 'sync_result').events;
        expect(messageIn(synced, r1.seq).data?.reply_to).toEqual(wiped);
        expect(JSON.stringify(synced)).not.toContain('top secret plan');
      } finally {
        await closeAll(all);
      }
    });

    it('a retry with the same client_msg_id answers duplicate:true with the original seq and event, and stores one copy', async () => {
      const { conv, o, a, b1, b2, all } = await setup();
      try {
        const parent = await a.sendOk(conv, 'question');
        const cmid = randomUUID();
        const original = await replyOk(b1, conv, 'answer', parent.seq, { cmid });
        expect(original.duplicate).toBe(false);
        expectAck(await editMessage(a, conv, parent.seq, 'question, edited'));
        for (const client of [b1, b2]) {
          const retry = expectAck(await sendMessage(client, conv, 'answer', { replyTo: parent.seq, cmid }));
          expect(retry).toMatchObject({ duplicate: true, seq: original.seq, client_msg_id: cmid });
          expect(retry.event).toEqual(original.event);
        }
        const history = await o.fullHistory(conv);
        expect(history.filter((e) => e.client_msg_id === cmid)).toHaveLength(1);
        expect(messageIn(history, original.seq).data?.reply_to?.body).toBe('question');
      } finally {
        await closeAll(all);
      }
    });
  });

  describe('mentions', () => {
    it('are stored in the order given, pushed live; @all and @here anywhere; non-members, repeats and too many are bad_request', async () => {
      const { owner, alice, bob, carol, conv, o, a, b1, c, all } = await setup();
      try {
        const mentions = [carol, '@here', bob, '@all', alice];
        const mark = b1.mark();
        const ack = expectAck(await sendMessage(a, conv, 'hey', { mentions }));
        const pushed = await b1.waitFor<EventFrame>((f) => f.type === 'event' && f.event.seq === ack.seq, {
          from: mark,
        });
        expect(pushed.event.data).toEqual({ mentions });
        expect(messageIn(await c.fullHistory(conv), ack.seq).data?.mentions).toEqual(mentions);
        // @all / @here in a direct conversation.
        const direct = await createDirect(server.httpUrl, alice, bob);
        expectAck(await sendMessage(a, direct, 'you two', { mentions: ['@all', '@here', bob] }));

        const stranger = uid('stranger');
        const nonMember = expectError(
          await sendMessage(a, conv, 'x', { mentions: [bob, stranger] }),
          'bad_request',
        );
        expect(nonMember.message).toContain(stranger);
        expectError(await sendMessage(a, direct, 'x', { mentions: [carol] }), 'bad_request');
        await changeMember(server.httpUrl, 'DELETE', conv, owner, carol);
        const former = expectError(await sendMessage(a, conv, 'x', { mentions: [carol] }), 'bad_request');
        expect(former.message).toContain(carol);
        expectError(await sendMessage(a, conv, 'x', { mentions: [bob, bob] }), 'bad_request');
        const tooMany = Array.from({ length: MAX_MENTIONS + 1 }, (_, i) => (i === 0 ? bob : uid('m')));
        expectError(await sendMessage(a, conv, 'x', { mentions: tooMany }), 'bad_request');
        expect((await o.fullHistory(conv)).filter((e) => e.body === 'x')).toEqual([]);
      } finally {
        await closeAll(all);
      }
    });

    it('count messages from others after your read cursor that name you, @all or @here: the same on every device, cleared as the read cursor passes', async () => {
      const { owner, bob, conv, o, a, b1, b2, c, all } = await setup();
      try {
        // Bob's own mention of himself never counts (and his send moves his read cursor).
        expectAck(await sendMessage(b1, conv, 'note to self', { mentions: [bob] }));
        expectAck(await sendMessage(o, conv, 'for bob', { mentions: [bob] }));
        const m2 = expectAck(await sendMessage(a, conv, 'for all', { mentions: ['@all'] }));
        const m3 = expectAck(await sendMessage(a, conv, 'for those here', { mentions: ['@here'] }));
        expectAck(await sendMessage(a, conv, 'for the owner', { mentions: [owner] }));
        await c.sendOk(conv, 'plain');
        for (const device of [b1, b2])
          expect(await summaryOf(device, conv)).toMatchObject({ unread: 5, mentions: 3 });
        // The owner: @all, @here and by id, after his own message; alice and carol: none from others.
        expect((await summaryOf(o, conv)).mentions).toBe(3);
        expect((await summaryOf(a, conv)).mentions).toBe(0);
        expect((await summaryOf(c, conv)).mentions).toBe(0);

        await read(b1, conv, m2.seq);
        for (const device of [b2, b1])
          expect(await summaryOf(device, conv)).toMatchObject({ unread: 3, mentions: 1 });
        await read(b2, conv, m3.seq);
        for (const device of [b1, b2])
          expect(await summaryOf(device, conv)).toMatchObject({ unread: 2, mentions: 0 });
        // A new one counts again; reading to the end clears it.
        const m6 = expectAck(await sendMessage(c, conv, 'again', { mentions: [bob] }));
        expect((await summaryOf(b1, conv)).mentions).toBe(1);
        await read(b1, conv, m6.seq);
        expect(await summaryOf(b2, conv)).toMatchObject({ unread: 0, mentions: 0 });
      } finally {
        await closeAll(all);
      }
    });

    it('a deleted message no longer counts, nor one from before you joined', async () => {
      const { owner, conv, o, b1, all } = await setup();
      const late = uid('late');
      let l: TestClient | undefined;
      try {
        const bob = b1.ready!.user_id;
        const m1 = expectAck(await sendMessage(o, conv, 'one', { mentions: [bob] }));
        expectAck(await sendMessage(o, conv, 'two', { mentions: [bob, '@all'] }));
        expect((await summaryOf(b1, conv)).mentions).toBe(2);
        expectAck(await deleteMessage(o, conv, m1.seq));
        expect((await summaryOf(b1, conv)).mentions).toBe(1);

        await changeMember(server.httpUrl, 'POST', conv, owner, late);
        l = await TestClient.open(server.wsUrl, { user: late });
        expect((await summaryOf(l, conv)).mentions).toBe(0);
        expectAck(await sendMessage(o, conv, 'welcome', { mentions: [late] }));
        expect(await summaryOf(l, conv)).toMatchObject({ mentions: 1, unread: 1 });
        expect((await summaryOf(b1, conv)).mentions).toBe(1);
      } finally {
        await closeAll([...all, l]);
      }
    });

    it('a removed member’s count stops at their removal', async () => {
      const { owner, bob, conv, o, a, b1, all } = await setup();
      try {
        const token = expectFrame(await b1.sync(), 'sync_result').token;
        expectAck(await sendMessage(o, conv, 'bob, look', { mentions: [bob] }));
        expectAck(await sendMessage(a, conv, 'everyone', { mentions: ['@all'] }));
        const removal = await changeMember(server.httpUrl, 'DELETE', conv, owner, bob);
        expectAck(await sendMessage(o, conv, 'everyone again', { mentions: ['@all'] }));
        expectAck(await sendMessage(a, conv, 'those here', { mentions: ['@here'] }));
        const refused = expectError(await sendMessage(o, conv, 'bob?', { mentions: [bob] }), 'bad_request');
        expect(refused.message).toContain(bob);
        expect(await summaryOf(b1, conv, token)).toMatchObject({ left_seq: removal, mentions: 2 });
      } finally {
        await closeAll(all);
      }
    });
  });

  it('a stranger and a removed member can neither reply nor mention: the error equals that for a conversation that does not exist, and nothing reaches them', async () => {
    const { owner, alice, bob, conv, o, a, b1, all } = await setup();
    const stranger = uid('stranger');
    const x = await TestClient.open(server.wsUrl, { user: stranger });
    const ghost = unknownConversationId();
    try {
      const parent = await a.sendOk(conv, 'members only');
      const removal = await changeMember(server.httpUrl, 'DELETE', conv, owner, bob);
      const marks = new Map([
        [x, x.mark()],
        [b1, b1.mark()],
      ]);
      for (const outsider of [x, b1]) {
        const attempts: SendOptions[] = [
          { replyTo: parent.seq },
          { replyTo: parent.seq + 1000 },
          { mentions: [alice] },
          { mentions: ['@all'], replyTo: parent.seq },
        ];
        for (const options of attempts) {
          const none = withoutRe(
            expectError(await sendMessage(outsider, ghost, 'intrude', options), 'not_found'),
          );
          const refused = expectError(await sendMessage(outsider, conv, 'intrude', options), 'not_found');
          expect(withoutRe(refused), JSON.stringify(options)).toEqual(none);
        }
      }
      // Members go on; the outsiders hear nothing of it (a direct message sent after is the barrier).
      await replyOk(o, conv, 'later', parent.seq, { mentions: ['@all'] });
      await expectNothingReached(server.httpUrl, {
        conv,
        after: removal,
        sender: [o, owner],
        outsiders: [
          [x, stranger],
          [b1, bob],
        ],
        marks,
      });
      const history = await o.fullHistory(conv);
      expect(history.filter((e) => e.body === 'intrude')).toEqual([]);
    } finally {
      await closeAll([...all, x]);
    }
  });
});
