import { randomUUID } from 'node:crypto';
import { type AckFrame, type ErrorFrame, type EventFrame, MAX_REACTION_EMOJI } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AckedEvent,
  changeMember,
  expectAckedEvent,
  messageIn,
  summaryOf,
} from '../helpers/chat-requests.js';
import { closeAll, expectAck, expectError, expectFrame, TestClient } from '../helpers/client.js';
import { expectNothingReached, unknownConversationId, withoutRe } from '../helpers/members-only.js';
import {
  api,
  createDirect,
  createGroup,
  signToken,
  startTestServer,
  type TestServer,
  uid,
  until,
} from '../helpers/server.js';

/** 53 distinct single-code-point RGI emoji: enough to fill a message and try one more. */
const MANY_EMOJI = [
  ...'😀😃😄😁😆😅😂🤣😊😇🙂🙃😉😌😍🥰😘😗😙😚😋😛😝😜🤪🤨🧐🤓😎🤩🥳😏😒😞😔😟😕🙁😣😖😫😩🥺😢😭😤😠😡🤬🤯😳🥵🥶',
];

/** Reactions: one per (user, emoji, message), counted in the log and folded into reads. */
describe('reactions', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ sendsPerSecond: 1000, sendBurst: 1000, frameBurst: 2000 });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const react = (
    c: TestClient,
    conv: string,
    target: number,
    emoji: string,
    action: 'add' | 'remove' = 'add',
    cmid: string = randomUUID(),
  ) =>
    c.request<AckFrame | ErrorFrame>({
      type: 'react',
      conversation_id: conv,
      client_msg_id: cmid,
      target_seq: target,
      emoji,
      action,
    });

  /** A reaction that must be acked with its event. */
  async function reactOk(
    c: TestClient,
    conv: string,
    target: number,
    emoji: string,
    action: 'add' | 'remove' = 'add',
  ): Promise<AckedEvent> {
    return expectAckedEvent(await react(c, conv, target, emoji, action), 'a react');
  }

  async function setup() {
    const [owner, alice, bob, carol] = [uid('owner'), uid('alice'), uid('bob'), uid('carol')];
    const conv = await createGroup(server.httpUrl, owner, [alice, bob, carol], 'reactions');
    const o = await TestClient.open(server.wsUrl, { user: owner });
    const a1 = await TestClient.open(server.wsUrl, { user: alice }, { deviceId: 'a1' });
    const a2 = await TestClient.open(server.wsUrl, { user: alice }, { deviceId: 'a2' });
    const b = await TestClient.open(server.wsUrl, { user: bob });
    const c = await TestClient.open(server.wsUrl, { user: carol });
    return { owner, alice, bob, carol, conv, o, a1, a2, b, c, all: [o, a1, a2, b, c] };
  }

  it('add and remove: the event carries the count after it; a redundant add or remove is still an event, count unchanged', async () => {
    const { alice, bob, conv, o, a1, b, all } = await setup();
    try {
      const m = await o.sendOk(conv, 'react to me');
      const first = await reactOk(a1, conv, m.seq, '👍');
      expect(first).toMatchObject({ conversation_id: conv, duplicate: false, seq: m.seq + 1 });
      expect(first.event).toMatchObject({
        conversation_id: conv,
        seq: first.seq,
        kind: 'reaction',
        sender_id: alice,
        ref_seq: m.seq,
        body: null,
        deleted: false,
        data: { emoji: '👍', action: 'add', count: 1 },
      });
      expect(first.event.client_msg_id).toBe(first.client_msg_id);
      const steps: Array<[TestClient, string, 'add' | 'remove', number]> = [
        [b, '👍', 'add', 2],
        [a1, '👍', 'add', 2], // redundant: alice already has it
        [a1, '👍', 'remove', 1],
        [a1, '👍', 'remove', 1], // redundant: alice has none left
        [b, '❤️', 'remove', 0], // redundant on an emoji nobody has
        [b, '❤️', 'add', 1],
      ];
      let previous = first.seq;
      for (const [client, emoji, action, count] of steps) {
        const ack = await reactOk(client, conv, m.seq, emoji, action);
        expect(ack.seq, `${emoji} ${action} is a new event`).toBe(previous + 1);
        expect(ack.event.data).toEqual({ emoji, action, count });
        expect(ack.event.sender_id).toBe(client === b ? bob : alice);
        previous = ack.seq;
      }
      const history = await o.fullHistory(conv);
      const reactions = history.filter((e) => e.kind === 'reaction');
      expect(reactions.map((e) => [e.ref_seq, e.data?.emoji, e.data?.action, e.data?.count])).toEqual([
        [m.seq, '👍', 'add', 1],
        [m.seq, '👍', 'add', 2],
        [m.seq, '👍', 'add', 2],
        [m.seq, '👍', 'remove', 1],
        [m.seq, '👍', 'remove', 1],
        [m.seq, '❤️', 'remove', 0],
        [m.seq, '❤️', 'add', 1],
      ]);
      expect(messageIn(history, m.seq).reactions?.counts).toEqual([
        { emoji: '👍', count: 1, me: false, seq: first.seq + 4 },
        { emoji: '❤️', count: 1, me: false, seq: previous },
      ]);
    } finally {
      await closeAll(all);
    }
  });

  it('a retry with the same client_msg_id answers duplicate:true with the original seq and event, and stores nothing', async () => {
    const { conv, o, a1, a2, b, all } = await setup();
    try {
      const m = await o.sendOk(conv, 'once');
      const cmid = randomUUID();
      const original = expectAck(await react(a1, conv, m.seq, '🎉', 'add', cmid));
      expect(original.duplicate).toBe(false);
      // From the other device, and even with another emoji or action: the original answer.
      for (const [client, emoji, action] of [
        [a1, '🎉', 'add'],
        [a2, '🎉', 'add'],
        [a2, '👍', 'remove'],
      ] as const) {
        const retry = expectAck(await react(client, conv, m.seq, emoji, action, cmid));
        expect(retry).toMatchObject({ duplicate: true, seq: original.seq, client_msg_id: cmid });
        expect(retry.created_at).toBe(original.created_at);
        expect(retry.event).toEqual(original.event);
      }
      // The retries counted nobody again: bob is the second.
      expect((await reactOk(b, conv, m.seq, '🎉')).event.data?.count).toBe(2);
      const history = await o.fullHistory(conv);
      expect(history.filter((e) => e.client_msg_id === cmid)).toHaveLength(1);
      expect(history.filter((e) => e.kind === 'reaction')).toHaveLength(2);
    } finally {
      await closeAll(all);
    }
  });

  it('one reaction per (user, emoji, message): two users and two emoji on two messages count apart', async () => {
    const { alice, conv, o, a1, a2, b, all } = await setup();
    try {
      const m1 = await o.sendOk(conv, 'first');
      const m2 = await o.sendOk(conv, 'second');
      const counts: Array<[TestClient, number, string, number]> = [
        [a1, m1.seq, '👍', 1],
        [b, m1.seq, '👍', 2],
        [a2, m1.seq, '❤️', 1], // alice's other device: the same user
        [a1, m1.seq, '❤️', 1],
        [b, m1.seq, '❤️', 2],
        [a2, m1.seq, '👍', 2],
        [a1, m2.seq, '👍', 1],
      ];
      for (const [client, target, emoji, count] of counts) {
        expect((await reactOk(client, conv, target, emoji)).event.data?.count, `${emoji} on ${target}`).toBe(
          count,
        );
      }
      const history = await a1.fullHistory(conv);
      expect(messageIn(history, m1.seq).reactions?.counts.map((c) => [c.emoji, c.count, c.me])).toEqual([
        ['👍', 2, true],
        ['❤️', 2, true],
      ]);
      expect(messageIn(history, m2.seq).reactions?.counts.map((c) => [c.emoji, c.count, c.me])).toEqual([
        ['👍', 1, true],
      ]);
      expect(history.filter((e) => e.kind === 'reaction' && e.sender_id === alice)).toHaveLength(5);
    } finally {
      await closeAll(all);
    }
  });

  it('anyone in a direct conversation may react, and the peer gets it live', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await createDirect(server.httpUrl, alice, bob);
    const a = await TestClient.open(server.wsUrl, { user: alice });
    const b = await TestClient.open(server.wsUrl, { user: bob });
    try {
      const m = await a.sendOk(conv, 'hi');
      const byBob = await reactOk(b, conv, m.seq, '❤️');
      const byAlice = await reactOk(a, conv, m.seq, '❤️');
      expect(byAlice.event.data?.count).toBe(2);
      const pushed = await a.waitFor<EventFrame>((f) => f.type === 'event' && f.event.seq === byBob.seq);
      expect(pushed.event).toEqual(byBob.event);
    } finally {
      await closeAll([a, b]);
    }
  });

  it('emoji must be exactly one RGI emoji: text, codes, bare symbols and two emoji are bad_request', async () => {
    const { conv, o, a1, all } = await setup();
    try {
      const m = await o.sendOk(conv, 'emoji only');
      for (const bad of ['a', ':+1:', '👍👍', '❤', '👍 ', '']) {
        const { id, frame } = await a1.requestLoose({
          type: 'react',
          conversation_id: conv,
          client_msg_id: randomUUID(),
          target_seq: m.seq,
          emoji: bad,
          action: 'add',
        });
        expectError(frame, 'bad_request');
        expect(
          frame.type === 'error' && frame.re,
          `error for ${JSON.stringify(bad)} answers the request`,
        ).toBe(id);
      }
      expect((await o.fullHistory(conv)).some((e) => e.kind === 'reaction')).toBe(false);
      for (const good of ['👍🏽', '❤️', '🏳️‍🌈', '🇳🇱', '1️⃣']) {
        expect((await reactOk(a1, conv, m.seq, good)).event.data?.emoji).toBe(good);
      }
    } finally {
      await closeAll(all);
    }
  });

  it(`a message carries at most ${MAX_REACTION_EMOJI} different emoji: the next new one is bad_request`, async () => {
    const { conv, o, a1, b, all } = await setup();
    try {
      const m = await o.sendOk(conv, 'popular');
      const fill = MANY_EMOJI.slice(0, MAX_REACTION_EMOJI);
      for (const emoji of fill) await reactOk(a1, conv, m.seq, emoji);
      const over = MANY_EMOJI[MAX_REACTION_EMOJI]!;
      expectError(await react(b, conv, m.seq, over), 'bad_request');
      // An emoji already there may still be added by someone else; the refused one left no trace.
      expect((await reactOk(b, conv, m.seq, fill[0]!)).event.data?.count).toBe(2);
      let summary = messageIn(await o.fullHistory(conv), m.seq).reactions;
      expect(summary?.counts).toHaveLength(MAX_REACTION_EMOJI);
      expect(summary?.counts.map((c) => c.emoji)).toEqual(fill);
      // Once one falls back to 0, there is room for a new one.
      await reactOk(a1, conv, m.seq, fill[1]!, 'remove');
      await reactOk(b, conv, m.seq, over);
      summary = messageIn(await o.fullHistory(conv), m.seq).reactions;
      expect(summary?.counts).toHaveLength(MAX_REACTION_EMOJI);
      expect(summary?.counts.at(-1)?.emoji).toBe(over);
      expectError(await react(b, conv, m.seq, MANY_EMOJI[MAX_REACTION_EMOJI + 1]!), 'bad_request');
    } finally {
      await closeAll(all);
    }
  });

  it('the target must be a message the reactor can see, not deleted: anything else is not_found like a seq that does not exist', async () => {
    const { owner, conv, o, a1, all } = await setup();
    const late = uid('late');
    let l: TestClient | undefined;
    try {
      const early = await o.sendOk(conv, 'before the newcomer');
      const doomed = await o.sendOk(conv, 'to be deleted');
      const edited = await o.sendOk(conv, 'to be edited');
      const editAck = expectAck(
        await o.request({
          type: 'edit',
          conversation_id: conv,
          client_msg_id: randomUUID(),
          target_seq: edited.seq,
          body: 'edited',
        }),
      );
      const del = expectAck(
        await o.request({
          type: 'delete',
          conversation_id: conv,
          client_msg_id: randomUUID(),
          target_seq: doomed.seq,
        }),
      );
      const reaction = await reactOk(a1, conv, edited.seq, '👍');
      const added = await api<{ seq: number }>(server.httpUrl, 'POST', `/v1/conversations/${conv}/members`, {
        token: await signToken(owner),
        body: { user_id: late },
      });
      expect(added.status).toBe(200);
      l = await TestClient.open(server.wsUrl, { user: late });
      const after = await o.sendOk(conv, 'after the newcomer');

      const missing = expectError(await react(a1, conv, after.seq + 1000, '👍'), 'not_found');
      const cases: Array<[TestClient, number, string]> = [
        [a1, 1, 'the created event'],
        [a1, doomed.seq, 'a deleted message'],
        [a1, del.seq, 'a delete event'],
        [a1, editAck.seq, 'an edit event'],
        [a1, reaction.seq, 'a reaction event'],
        [a1, added.body.seq, 'a member_added event'],
        [l, early.seq, 'a message from before the reactor joined'],
        [l, after.seq + 1000, 'a seq beyond the log, for the newcomer'],
      ];
      for (const [client, target, what] of cases) {
        const refused = expectError(await react(client, conv, target, '👍'), 'not_found');
        expect(withoutRe(refused), what).toEqual(withoutRe(missing));
      }
      // The newcomer may react to what they can see.
      expect((await reactOk(l, conv, after.seq, '👍')).event.ref_seq).toBe(after.seq);
      const history = await o.fullHistory(conv);
      expect(history.filter((e) => e.kind === 'reaction').map((e) => e.ref_seq)).toEqual([
        edited.seq,
        after.seq,
      ]);
    } finally {
      await closeAll([...all, l]);
    }
  });

  it('live: every member device gets the event, the reactor’s other device too; the sending connection only its ack', async () => {
    const { conv, o, a1, a2, b, c, all } = await setup();
    try {
      const m = await o.sendOk(conv, 'live');
      const marks = new Map(all.map((client) => [client, client.mark()] as const));
      const ack = await reactOk(a1, conv, m.seq, '🔥');
      for (const receiver of [o, a2, b, c]) {
        const pushed = await receiver.waitFor<EventFrame>(
          (f) => f.type === 'event' && f.event.seq === ack.seq,
          {
            from: marks.get(receiver),
            label: 'reaction event',
          },
        );
        expect(pushed.event).toEqual(ack.event);
        expect('reactions' in pushed.event).toBe(false);
      }
      // Events of a conversation reach a connection in seq order: once a1 has the next message, it
      // would have had the reaction before it.
      const next = await o.sendOk(conv, 'after the reaction');
      await a1.waitFor((f) => f.type === 'event' && f.event.seq === next.seq, { from: marks.get(a1) });
      expect(a1.liveEvents(conv).filter((e) => e.seq === ack.seq)).toEqual([]);
      expect(a2.liveEvents(conv).filter((e) => e.seq === ack.seq)).toHaveLength(1);
    } finally {
      await closeAll(all);
    }
  });

  it('reads fold reactions into each message: counts, me per reader, first-added order, as_of and per-emoji seq (history, fetch, sync)', async () => {
    const { conv, o, a1, b, c, all } = await setup();
    try {
      const tokens = new Map<TestClient, string>();
      for (const reader of all) tokens.set(reader, expectFrame(await reader.sync(), 'sync_result').token);
      const m1 = await o.sendOk(conv, 'reacted');
      const m2 = await o.sendOk(conv, 'never reacted');
      const m3 = await o.sendOk(conv, 'reacted, then not');
      // 😂 comes first but ends with fewer than 👍, and sorts after 👍 by code point: only the
      // first-added order puts it first.
      const s1 = (await reactOk(b, conv, m1.seq, '😂')).seq;
      await reactOk(a1, conv, m1.seq, '👍');
      await reactOk(c, conv, m1.seq, '👍');
      await reactOk(b, conv, m1.seq, '❤️');
      const s5 = (await reactOk(b, conv, m1.seq, '👍')).seq;
      const s6 = (await reactOk(b, conv, m1.seq, '❤️', 'remove')).seq;
      await reactOk(a1, conv, m3.seq, '👍');
      const s8 = (await reactOk(a1, conv, m3.seq, '👍', 'remove')).seq;

      const expected = (meLaugh: boolean, meThumb: boolean) => ({
        as_of: s6,
        counts: [
          { emoji: '😂', count: 1, me: meLaugh, seq: s1 },
          { emoji: '👍', count: 3, me: meThumb, seq: s5 },
        ],
      });
      const views: Array<[TestClient, ReturnType<typeof expected>]> = [
        [o, expected(false, false)],
        [a1, expected(false, true)],
        [b, expected(true, true)],
        [c, expected(false, true)],
      ];
      for (const [reader, view] of views) {
        const fetched = expectFrame(await reader.fetch(conv, 0), 'events').events;
        const history = await reader.fullHistory(conv);
        const synced = expectFrame(await reader.sync(tokens.get(reader)), 'sync_result').events;
        for (const [how, events] of [
          ['history', history],
          ['fetch', fetched],
          ['sync', synced],
        ] as const) {
          expect(messageIn(events, m1.seq).reactions, `${how}: m1`).toEqual(view);
          expect('reactions' in messageIn(events, m2.seq), `${how}: m2 never had a reaction`).toBe(false);
          expect(messageIn(events, m3.seq).reactions, `${how}: m3 had one`).toEqual({
            as_of: s8,
            counts: [],
          });
          expect(
            events.filter((e) => e.kind !== 'message' && 'reactions' in e),
            `${how}: only messages carry reactions`,
          ).toEqual([]);
        }
      }
    } finally {
      await closeAll(all);
    }
  });

  it('a reaction is not unread, not last_message, and does not move updated_at', async () => {
    const { conv, o, a1, b, all } = await setup();
    try {
      await o.sendOk(conv, 'one');
      const m2 = await o.sendOk(conv, 'two');
      const first = expectFrame(await b.sync(), 'sync_result');
      const token = first.token;
      const before = first.conversations.find((x) => x.conversation_id === conv)!;
      expect(before).toMatchObject({ unread: 2, last_message: { seq: m2.seq } });
      await until(() => Date.now() > before.updated_at + 1);
      const byAlice = await reactOk(a1, conv, m2.seq, '👍');
      expect(byAlice.created_at, 'the reaction is newer than the summary').toBeGreaterThan(before.updated_at);
      const byOwner = await reactOk(o, conv, m2.seq, '👍');

      const changed = expectFrame(await b.sync(token), 'sync_result');
      const after = changed.conversations.find((x) => x.conversation_id === conv);
      expect(changed.events.map((e) => e.seq)).toEqual([byAlice.seq, byOwner.seq]);
      expect(after).toMatchObject({
        unread: 2,
        last_message: { seq: m2.seq, kind: 'message' },
        updated_at: before.updated_at,
      });
      // The reactor's own view does not move either.
      expect(await summaryOf(a1, conv)).toMatchObject({
        last_message: { seq: m2.seq },
        updated_at: before.updated_at,
      });
      // Read to the end: nothing unread, reactions included.
      await b.request({ type: 'receipt', conversation_id: conv, kind: 'read', seq: byOwner.seq });
      expect((await summaryOf(b, conv)).unread).toBe(0);
      await reactOk(a1, conv, m2.seq, '🎉');
      expect((await summaryOf(b, conv)).unread).toBe(0);
    } finally {
      await closeAll(all);
    }
  });

  it('deleting a message clears its reactions from reads, and it can no longer be reacted to', async () => {
    const { conv, o, a1, b, all } = await setup();
    try {
      const token = expectFrame(await b.sync(), 'sync_result').token;
      const m = await a1.sendOk(conv, 'short-lived');
      const kept = await a1.sendOk(conv, 'kept');
      await reactOk(b, conv, m.seq, '👍');
      await reactOk(o, conv, m.seq, '😂');
      await reactOk(b, conv, kept.seq, '👍');
      expectAck(
        await o.request({
          type: 'delete',
          conversation_id: conv,
          client_msg_id: randomUUID(),
          target_seq: m.seq,
        }),
      );
      for (const events of [
        await b.fullHistory(conv),
        expectFrame(await b.fetch(conv, 0), 'events').events,
        expectFrame(await b.sync(token), 'sync_result').events,
      ]) {
        const gone = messageIn(events, m.seq);
        expect(gone).toMatchObject({ body: null, deleted: true });
        expect(gone.reactions?.counts ?? []).toEqual([]);
        expect(messageIn(events, kept.seq).reactions?.counts).toEqual([
          { emoji: '👍', count: 1, me: true, seq: expect.any(Number) },
        ]);
      }
      expectError(await react(b, conv, m.seq, '👍'), 'not_found');
      expectError(await react(b, conv, m.seq, '👍', 'remove'), 'not_found');
    } finally {
      await closeAll(all);
    }
  });

  it('a removed member sees reactions as of their removal only', async () => {
    const { owner, bob, conv, o, a1, b, c, all } = await setup();
    try {
      const m = await o.sendOk(conv, 'watched');
      const s1 = (await reactOk(a1, conv, m.seq, '👍')).seq;
      const s2 = (await reactOk(b, conv, m.seq, '😂')).seq;
      const removal = await changeMember(server.httpUrl, 'DELETE', conv, owner, bob);
      await reactOk(c, conv, m.seq, '👍');
      await reactOk(a1, conv, m.seq, '😂');
      await reactOk(a1, conv, m.seq, '🎉');
      const unreact = await reactOk(a1, conv, m.seq, '👍', 'remove');

      const asRemoved = {
        as_of: s2,
        counts: [
          { emoji: '👍', count: 1, me: false, seq: s1 },
          { emoji: '😂', count: 1, me: true, seq: s2 },
        ],
      };
      const history = await b.fullHistory(conv);
      expect(history.at(-1)?.seq).toBe(removal);
      expect(messageIn(history, m.seq).reactions).toEqual(asRemoved);
      const fetched = await b.fetch(conv, 0);
      if (fetched.type === 'events') expect(messageIn(fetched.events, m.seq).reactions).toEqual(asRemoved);
      else expectError(fetched, 'not_found');
      // A current member sees them all.
      expect(messageIn(await c.fullHistory(conv), m.seq).reactions).toEqual({
        as_of: unreact.seq,
        counts: [
          { emoji: '👍', count: 1, me: true, seq: unreact.seq },
          { emoji: '😂', count: 2, me: false, seq: expect.any(Number) },
          { emoji: '🎉', count: 1, me: false, seq: expect.any(Number) },
        ],
      });
    } finally {
      await closeAll(all);
    }
  });

  it('a message deleted after a member’s removal shows them no reactions either', async () => {
    const { owner, bob, conv, o, a1, b, all } = await setup();
    try {
      const m = await a1.sendOk(conv, 'soon gone');
      await reactOk(b, conv, m.seq, '👍');
      await reactOk(o, conv, m.seq, '😂');
      await changeMember(server.httpUrl, 'DELETE', conv, owner, bob);
      expect(messageIn(await b.fullHistory(conv), m.seq).reactions?.counts).toHaveLength(2);
      expectAck(
        await a1.request({
          type: 'delete',
          conversation_id: conv,
          client_msg_id: randomUUID(),
          target_seq: m.seq,
        }),
      );
      const gone = messageIn(await b.fullHistory(conv), m.seq);
      expect(gone).toMatchObject({ body: null, deleted: true });
      expect(gone.reactions?.counts ?? []).toEqual([]);
    } finally {
      await closeAll(all);
    }
  });

  it('a stranger and a removed member cannot react: the error equals that for a conversation that does not exist, and nothing reaches them', async () => {
    const { owner, alice, bob, conv, o, a1, b, all } = await setup();
    const stranger = uid('stranger');
    const x = await TestClient.open(server.wsUrl, { user: stranger });
    const ghost = unknownConversationId();
    try {
      const m = await o.sendOk(conv, 'members only');
      await reactOk(a1, conv, m.seq, '👍');
      const removal = await changeMember(server.httpUrl, 'DELETE', conv, owner, bob);
      const marks = new Map([
        [x, x.mark()],
        [b, b.mark()],
      ]);
      for (const outsider of [x, b]) {
        const none = withoutRe(expectError(await react(outsider, ghost, m.seq, '👍'), 'not_found'));
        for (const [target, action] of [
          [m.seq, 'add'],
          [m.seq, 'remove'],
          [m.seq + 1000, 'add'],
          [1, 'add'],
        ] as const) {
          const refused = expectError(await react(outsider, conv, target, '👍', action), 'not_found');
          expect(withoutRe(refused), `${target} ${action}`).toEqual(none);
        }
      }
      // Members go on reacting; the outsiders hear nothing of it.
      await reactOk(a1, conv, m.seq, '🎉');
      await o.sendOk(conv, 'later');
      await expectNothingReached(server.httpUrl, {
        conv,
        after: removal,
        sender: [o, owner],
        outsiders: [
          [x, stranger],
          [b, bob],
        ],
        marks,
      });
      const history = await o.fullHistory(conv);
      expect(history.filter((e) => e.kind === 'reaction').map((e) => e.sender_id)).toEqual([alice, alice]);
      expect(messageIn(history, m.seq).reactions?.counts.map((c) => c.count)).toEqual([1, 1]);
    } finally {
      await closeAll([...all, x]);
    }
  });
});
