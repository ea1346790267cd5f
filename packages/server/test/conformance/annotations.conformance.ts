import { randomUUID } from 'node:crypto';
import {
  type ChatEvent,
  type ConversationSummary,
  MAX_PINS,
  MAX_REACTION_EMOJI,
  QUOTE_MAX_CHARS,
  type ReactionSummary,
} from '@natter/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogStore } from '../../src/store/log-store.js';
import type { LogStoreHandle } from './log-store.conformance.js';
import {
  agreedField,
  append,
  at,
  createDirect,
  createGroup,
  del,
  edit,
  fetched,
  history,
  ids,
  message,
  okOf,
  only,
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
 * What points at a message (replies' quotes, mentions, reactions, pins) and each member's
 * notification level, as the LogStore port promises them: the same suite for every adapter,
 * through the interface only. Ids are unique per test, so adapters may share one database.
 */

// ---------------------------------------------------------------------------------------------
// helpers

const reaction = (
  conv: string,
  sender: string,
  target: number,
  emoji: string,
  action: 'add' | 'remove' = 'add',
  clientMsgId: string = randomUUID(),
) => append(conv, sender, 'reaction', { refSeq: target, reaction: { emoji, action }, clientMsgId });
const pin = (conv: string, sender: string, target: number, action: 'pinned' | 'unpinned' = 'pinned') =>
  append(conv, sender, action, { refSeq: target });

async function react(
  store: LogStore,
  conv: string,
  sender: string,
  target: number,
  emoji: string,
  action: 'add' | 'remove' = 'add',
): Promise<ChatEvent> {
  return only(await run(store, reaction(conv, sender, target, emoji, action)));
}

/** A message's reactions as each of the three reads returns them (they must agree). */
function reactionsOf(
  store: LogStore,
  userId: string,
  conv: string,
  seq: number,
): Promise<ReactionSummary | undefined> {
  return agreedField(store, userId, conv, seq, 'reactions');
}

// ---------------------------------------------------------------------------------------------

export function describeAnnotationsConformance(name: string, open: () => Promise<LogStoreHandle>): void {
  describe(`LogStore annotations conformance: ${name}`, () => {
    let handle: LogStoreHandle;
    let store: LogStore;

    beforeEach(async () => {
      handle = await open();
      store = handle.store;
    });

    afterEach(async () => {
      await handle.close();
    });

    describe('reactions', () => {
      it('append a reaction event whose count is the count after it; a redundant add or remove is still an event', async () => {
        const [alice, bob] = ids('alice', 'bob');
        const conv = await createGroup(store, alice, [bob]);
        const m = await send(store, conv, alice, 'react to me');
        const first = await react(store, conv, bob, m.seq, '👍');
        expect(first).toMatchObject({
          conversation_id: conv,
          seq: m.seq + 1,
          kind: 'reaction',
          sender_id: bob,
          ref_seq: m.seq,
          body: null,
          deleted: false,
          data: { emoji: '👍', action: 'add', count: 1 },
        });
        const steps: Array<[string, string, 'add' | 'remove', number]> = [
          [alice, '👍', 'add', 2],
          [bob, '👍', 'add', 2],
          [bob, '👍', 'remove', 1],
          [bob, '👍', 'remove', 1],
          [alice, '❤️', 'add', 1],
          [bob, '❤️', 'add', 2],
          [alice, '👍', 'remove', 0],
        ];
        let seq = first.seq;
        for (const [sender, emoji, action, count] of steps) {
          const e = await react(store, conv, sender, m.seq, emoji, action);
          expect(e.seq).toBe(++seq);
          expect(e.data).toEqual({ emoji, action, count });
        }
        // Another message counts apart.
        const other = await send(store, conv, bob, 'other');
        expect((await react(store, conv, alice, other.seq, '❤️')).data?.count).toBe(1);
        expect((await react(store, conv, alice, m.seq, '❤️')).data?.count).toBe(2);
      });

      it('is idempotent on client_msg_id: a retry is a duplicate with the original event and changes no count', async () => {
        const [alice, bob, carol] = ids('alice', 'bob', 'carol');
        const conv = await createGroup(store, alice, [bob, carol]);
        const m = await send(store, conv, alice);
        const op = reaction(conv, bob, m.seq, '🎉');
        const original = await run(store, op);
        expect(original.duplicate).toBe(false);
        const retry = await run(store, op);
        expect(retry.duplicate).toBe(true);
        expect(retry.events).toEqual(original.events);
        const changed = await run(store, { ...op, reaction: { emoji: '👍', action: 'remove' } });
        expect(changed.duplicate).toBe(true);
        expect(changed.events).toEqual(original.events);
        // Both in one batch: one event.
        const twice = reaction(conv, carol, m.seq, '🎉');
        const [a, b] = (await store.commit([twice, twice])).map(okOf);
        expect(a!.duplicate).toBe(false);
        expect(b!.duplicate).toBe(true);
        expect(b!.events).toEqual(a!.events);
        expect(only(a!).data?.count).toBe(2);
        expect((await fetched(store, alice, conv)).filter((e) => e.kind === 'reaction')).toHaveLength(2);
      });

      it('folds a summary into each message in every read: counts, me per reader, first-added order, as_of and seq', async () => {
        const [alice, bob, carol, dave] = ids('alice', 'bob', 'carol', 'dave');
        const conv = await createGroup(store, alice, [bob, carol, dave]);
        const m1 = await send(store, conv, alice, 'reacted');
        const m2 = await send(store, conv, alice, 'never reacted');
        const m3 = await send(store, conv, alice, 'reacted, then not');
        // 😂 is first, ends with fewer, and sorts after 👍 by code point.
        const s1 = (await react(store, conv, bob, m1.seq, '😂')).seq;
        await react(store, conv, alice, m1.seq, '👍');
        await react(store, conv, carol, m1.seq, '👍');
        await react(store, conv, bob, m1.seq, '❤️');
        const s5 = (await react(store, conv, bob, m1.seq, '👍')).seq;
        const s6 = (await react(store, conv, bob, m1.seq, '❤️', 'remove')).seq;
        await react(store, conv, carol, m3.seq, '👍');
        const s8 = (await react(store, conv, carol, m3.seq, '👍', 'remove')).seq;

        const view = (laugh: boolean, thumb: boolean): ReactionSummary => ({
          as_of: s6,
          counts: [
            { emoji: '😂', count: 1, me: laugh, seq: s1 },
            { emoji: '👍', count: 3, me: thumb, seq: s5 },
          ],
        });
        expect(await reactionsOf(store, alice, conv, m1.seq)).toEqual(view(false, true));
        expect(await reactionsOf(store, bob, conv, m1.seq)).toEqual(view(true, true));
        expect(await reactionsOf(store, carol, conv, m1.seq)).toEqual(view(false, true));
        expect(await reactionsOf(store, dave, conv, m1.seq)).toEqual(view(false, false));
        expect(await reactionsOf(store, dave, conv, m2.seq)).toBeUndefined();
        expect(await reactionsOf(store, dave, conv, m3.seq)).toEqual({ as_of: s8, counts: [] });
        // Only messages carry a summary; a page that starts after the message has none of it.
        const events = await fetched(store, dave, conv);
        expect(events.filter((e) => e.kind !== 'message' && 'reactions' in e)).toEqual([]);
        const later = await store.fetchAfter(dave, conv, m3.seq, 100);
        expect(later!.events.map((e) => e.kind)).toEqual(Array(8).fill('reaction'));
        expect(later!.events.some((e) => 'reactions' in e)).toBe(false);
        // A page holding just the message (its reactions are later events) still carries the summary.
        const page = await store.historyBefore(dave, conv, m2.seq, 1);
        expect(page!.events.map((e) => e.seq)).toEqual([m1.seq]);
        expect(page!.events[0]!.reactions).toEqual(view(false, false));
      });

      it('shows a former member the reactions as of their removal: what they saw just before it', async () => {
        const [alice, bob, carol] = ids('alice', 'bob', 'carol');
        const conv = await createGroup(store, alice, [bob, carol]);
        const m = await send(store, conv, alice, 'watched');
        const untouched = await send(store, conv, alice, 'reacted to only after the removal');
        await react(store, conv, alice, m.seq, '👍');
        await react(store, conv, bob, m.seq, '😂');
        await react(store, conv, carol, m.seq, '🎉');
        await react(store, conv, carol, m.seq, '🎉', 'remove');
        await react(store, conv, bob, m.seq, '🎉'); // back from 0
        await react(store, conv, carol, m.seq, '👍');
        await react(store, conv, bob, m.seq, '👍', 'remove'); // redundant: bob has none
        const before = await reactionsOf(store, bob, conv, m.seq);
        expect(before?.counts.map((c) => [c.emoji, c.count, c.me])).toEqual(
          expect.arrayContaining([
            ['👍', 2, false],
            ['😂', 1, true],
            ['🎉', 1, true],
          ]),
        );
        await run(store, { kind: 'remove_member', actorId: alice, conversationId: conv, userId: bob });
        await react(store, conv, alice, m.seq, '😂');
        await react(store, conv, alice, m.seq, '👍', 'remove');
        await react(store, conv, carol, m.seq, '🔥');
        await react(store, conv, carol, untouched.seq, '🔥');

        expect(await reactionsOf(store, bob, conv, m.seq)).toEqual(before);
        expect(await reactionsOf(store, bob, conv, untouched.seq)).toBeUndefined();
        expect((await reactionsOf(store, carol, conv, m.seq))?.counts.map((c) => [c.emoji, c.count])).toEqual(
          expect.arrayContaining([
            ['👍', 1],
            ['😂', 2],
            ['🎉', 1],
            ['🔥', 1],
          ]),
        );
      });

      it('moves as_of and the emoji’s seq with every reaction event; a remove of an emoji the message never had changes nothing', async () => {
        const [alice, bob] = ids('alice', 'bob');
        const conv = await createGroup(store, alice, [bob]);
        const m = await send(store, conv, alice);
        await react(store, conv, bob, m.seq, '❤️');
        const redundantAdd = await react(store, conv, bob, m.seq, '❤️');
        expect(await reactionsOf(store, alice, conv, m.seq)).toEqual({
          as_of: redundantAdd.seq,
          counts: [{ emoji: '❤️', count: 1, me: false, seq: redundantAdd.seq }],
        });
        const removedNothing = await react(store, conv, alice, m.seq, '👍', 'remove');
        expect(removedNothing.data).toEqual({ emoji: '👍', action: 'remove', count: 0 });
        expect(await reactionsOf(store, alice, conv, m.seq)).toEqual({
          as_of: redundantAdd.seq,
          counts: [{ emoji: '❤️', count: 1, me: false, seq: redundantAdd.seq }],
        });
      });

      it('shows a former member no reactions on a message deleted after their removal', async () => {
        const [alice, bob] = ids('alice', 'bob');
        const conv = await createGroup(store, alice, [bob]);
        const m = await send(store, conv, alice, 'soon gone');
        await react(store, conv, bob, m.seq, '👍');
        await react(store, conv, alice, m.seq, '😂');
        await run(store, { kind: 'remove_member', actorId: alice, conversationId: conv, userId: bob });
        expect((await reactionsOf(store, bob, conv, m.seq))?.counts).toHaveLength(2);
        await run(store, del(conv, alice, m.seq));
        for (const events of [await fetched(store, bob, conv), await history(store, bob, conv)]) {
          expect(at(events, m.seq)).toMatchObject({ body: null, deleted: true });
          expect(at(events, m.seq).reactions?.counts ?? []).toEqual([]);
        }
        expect(at(await fetched(store, alice, conv), m.seq).reactions?.counts ?? []).toEqual([]);
      });

      it(`refuses a ${MAX_REACTION_EMOJI + 1}st different emoji with bad_request, and counts only emoji above 0`, async () => {
        const [alice, bob] = ids('alice', 'bob');
        const conv = await createGroup(store, alice, [bob]);
        const m = await send(store, conv, alice);
        const emoji = [
          ...'😀😃😄😁😆😅😂🤣😊😇🙂🙃😉😌😍🥰😘😗😙😚😋😛😝😜🤪🤨🧐🤓😎🤩🥳😏😒😞😔😟😕🙁😣😖😫😩🥺😢😭😤😠😡🤬🤯😳🥵',
        ];
        expect(emoji.length).toBeGreaterThan(MAX_REACTION_EMOJI + 1);
        for (const e of emoji.slice(0, MAX_REACTION_EMOJI)) await react(store, conv, alice, m.seq, e);
        const over = emoji[MAX_REACTION_EMOJI]!;
        expect((await reject(store, reaction(conv, bob, m.seq, over))).code).toBe('bad_request');
        // In one batch with a removal that frees a slot first, it fits.
        const [freed, added] = await store.commit([
          reaction(conv, alice, m.seq, emoji[0]!, 'remove'),
          reaction(conv, bob, m.seq, over),
        ]);
        expect(okOf(freed).events[0]?.data?.count).toBe(0);
        expect(okOf(added).events[0]?.data?.count).toBe(1);
        expect((await reject(store, reaction(conv, bob, m.seq, emoji[MAX_REACTION_EMOJI + 1]!))).code).toBe(
          'bad_request',
        );
        // Existing emoji stay open to everyone.
        expect((await react(store, conv, bob, m.seq, emoji[1]!)).data?.count).toBe(2);
        expect((await reactionsOf(store, bob, conv, m.seq))?.counts).toHaveLength(MAX_REACTION_EMOJI);
      });

      it('refuses a target that is not a visible, undeleted message with not_found, like a seq that does not exist', async () => {
        const [alice, bob, late] = ids('alice', 'bob', 'late');
        const conv = await createGroup(store, alice, [bob]);
        const early = await send(store, conv, alice, 'early');
        const doomed = await send(store, conv, alice, 'doomed');
        const edited = only(await run(store, edit(conv, alice, early.seq, 'early, edited')));
        const deleted = only(await run(store, del(conv, alice, doomed.seq)));
        const reacted = await react(store, conv, bob, early.seq, '👍');
        const joined = only(
          await run(store, {
            kind: 'add_member',
            actorId: alice,
            conversationId: conv,
            userId: late,
            role: 'member',
          }),
        );
        const missing = await refusal(store, reaction(conv, bob, 999, '👍'));
        expect(missing.code).toBe('not_found');
        for (const [sender, target] of [
          [bob, 1],
          [bob, doomed.seq],
          [bob, edited.seq],
          [bob, deleted.seq],
          [bob, reacted.seq],
          [bob, joined.seq],
          [late, early.seq],
          [late, 999],
        ] as const) {
          expect(
            await refusal(store, reaction(conv, sender, target, '👍')),
            `${sender} -> ${target}`,
          ).toEqual(missing);
        }
        // What the newcomer can see is open to them; nothing refused was stored.
        const visible = await send(store, conv, alice, 'after joining');
        expect((await react(store, conv, late, visible.seq, '👍')).ref_seq).toBe(visible.seq);
        const stored = (await fetched(store, alice, conv)).filter((e) => e.kind === 'reaction');
        expect(stored.map((e) => e.ref_seq)).toEqual([early.seq, visible.seq]);
      });

      it('refuses strangers and former members with not_found, exactly like an unknown conversation', async () => {
        const [alice, bob, mallory] = ids('alice', 'bob', 'mallory');
        const conv = await createGroup(store, alice, [bob]);
        const m = await send(store, conv, alice);
        await run(store, { kind: 'remove_member', actorId: alice, conversationId: conv, userId: bob });
        const ghost = unknownConversation();
        for (const outsider of [mallory, bob]) {
          const none = await refusal(store, reaction(ghost, outsider, m.seq, '👍'));
          expect(none.code).toBe('not_found');
          expect(await refusal(store, reaction(conv, outsider, m.seq, '👍'))).toEqual(none);
          expect(await refusal(store, reaction(conv, outsider, 999, '👍'))).toEqual(none);
        }
        expect((await fetched(store, alice, conv)).some((e) => e.kind === 'reaction')).toBe(false);
      });

      it('count right under concurrent commits, and never let more than the limit of emoji in', async () => {
        const [owner] = ids('owner');
        const users = Array.from({ length: 60 }, (_, i) => uid(`u${i}`));
        const conv = await createGroup(store, owner, users);
        const m = await send(store, conv, owner);
        const same = await Promise.all(
          users.slice(0, 12).map((u) => store.commit([reaction(conv, u, m.seq, '👍')])),
        );
        const counts = same.map((r) => only(okOf(r[0])).data?.count);
        expect([...counts].sort((a, b) => a! - b!)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));

        const other = await send(store, conv, owner, 'many emoji');
        const emoji = [
          ...'😀😃😄😁😆😅😂🤣😊😇🙂🙃😉😌😍🥰😘😗😙😚😋😛😝😜🤪🤨🧐🤓😎🤩🥳😏😒😞😔😟😕🙁😣😖😫😩🥺😢😭😤😠😡🤬🤯😳🥵🥶🐶🐱🐭🐹🐰🦊🐻',
        ];
        expect(emoji.length).toBe(60);
        const results = await Promise.all(
          users.map((u, i) => store.commit([reaction(conv, u, other.seq, emoji[i]!)])),
        );
        const refused = results.filter((r) => !r[0]!.ok);
        expect(results.length - refused.length).toBe(MAX_REACTION_EMOJI);
        for (const r of refused) expect(r[0]!.ok ? null : r[0]!.error.code).toBe('bad_request');
        expect((await reactionsOf(store, owner, conv, m.seq))?.counts).toEqual([
          { emoji: '👍', count: 12, me: false, seq: expect.any(Number) },
        ]);
        expect((await reactionsOf(store, owner, conv, other.seq))?.counts).toHaveLength(MAX_REACTION_EMOJI);
      });

      it('are not unread, never last_message, and do not move updated_at', async () => {
        const [alice, bob] = ids('alice', 'bob');
        const conv = await createGroup(store, alice, [bob]);
        const m = await send(store, conv, alice, 'last');
        const before = await summary(store, bob, conv);
        expect(before).toMatchObject({ unread: 1, last_message: { seq: m.seq } });
        const position = await store.latestPosition(bob);
        while (Date.now() <= before.updated_at + 1) await new Promise((r) => setImmediate(r));
        const r = await react(store, conv, alice, m.seq, '👍');
        expect(r.created_at).toBeGreaterThan(before.updated_at);
        await react(store, conv, bob, m.seq, '😂');
        const after = await summary(store, bob, conv);
        expect(after).toMatchObject({
          unread: 1,
          last_message: { seq: m.seq },
          updated_at: before.updated_at,
        });
        expect((await summary(store, alice, conv)).unread).toBe(0);
        // Still a change the sync finds, with its events.
        const page = await store.syncSince(bob, position, position, 100, 100);
        expect(page.conversations.map((c) => c.conversation_id)).toEqual([conv]);
        expect(page.events.map((e) => e.kind)).toEqual(['reaction', 'reaction']);
        expect(page.conversations[0]).toMatchObject({
          updated_at: before.updated_at,
          last_message: { seq: m.seq },
        });
      });
    });

    describe('replies', () => {
      it('quote the parent’s current text (latest edit applied) as stored, and keep it through later edits', async () => {
        const [alice, bob] = ids('alice', 'bob');
        const conv = await createGroup(store, alice, [bob]);
        const parent = await send(store, conv, alice, 'v1');
        await run(store, edit(conv, alice, parent.seq, 'v2'));
        await run(store, edit(conv, alice, parent.seq, 'v3'));
        const reply = await send(store, conv, bob, 'answer', { replyTo: parent.seq });
        expect(reply).toMatchObject({ kind: 'message', body: 'answer', sender_id: bob });
        expect(reply.data).toEqual({
          reply_to: { seq: parent.seq, sender_id: alice, body: 'v3', deleted: false },
        });
        await run(store, edit(conv, alice, parent.seq, 'v4'));
        for (const events of [
          await fetched(store, bob, conv),
          await history(store, alice, conv),
          await synced(store, bob, conv),
        ]) {
          expect(at(events, reply.seq).data?.reply_to?.body).toBe('v3');
        }
        // A retry returns the original, quote and all.
        const op = message(conv, bob, 'again', { replyTo: parent.seq });
        const original = await run(store, op);
        expect(only(original).data?.reply_to?.body).toBe('v4');
        await run(store, edit(conv, alice, parent.seq, 'v5'));
        const retry = await run(store, op);
        expect(retry.duplicate).toBe(true);
        expect(retry.events).toEqual(original.events);
      });

      it(`cut the quote to ${QUOTE_MAX_CHARS} code points, the last replaced by an ellipsis`, async () => {
        const [alice] = ids('alice');
        const conv = await createGroup(store, alice, []);
        for (const [text, quoted] of [
          ['😀'.repeat(250), `${'😀'.repeat(QUOTE_MAX_CHARS - 1)}…`],
          [`${'a'.repeat(150)}${'😀'.repeat(50)}`, `${'a'.repeat(150)}${'😀'.repeat(50)}`],
          ['z'.repeat(QUOTE_MAX_CHARS + 1), `${'z'.repeat(QUOTE_MAX_CHARS - 1)}…`],
        ] as const) {
          const parent = await send(store, conv, alice, text);
          const reply = await send(store, conv, alice, 're', { replyTo: parent.seq });
          expect(reply.data?.reply_to?.body).toBe(quoted);
          expect(at(await fetched(store, alice, conv), reply.seq).data?.reply_to?.body).toBe(quoted);
        }
      });

      it('wipe every quote of a deleted parent in all reads, and keep the rest of the reply', async () => {
        const [alice, bob] = ids('alice', 'bob');
        const conv = await createGroup(store, alice, [bob]);
        const parent = await send(store, conv, alice, 'secret parent');
        const r1 = await send(store, conv, bob, 'reply one', { replyTo: parent.seq });
        const r2 = await send(store, conv, bob, 'reply two', {
          replyTo: parent.seq,
          mentions: [alice],
          metadata: { k: 1 },
        });
        const other = await send(store, conv, bob, 'unrelated');
        const r3 = await send(store, conv, alice, 'reply three', { replyTo: other.seq });
        await run(store, del(conv, alice, parent.seq));
        const wiped = { seq: parent.seq, sender_id: alice, body: null, deleted: true };
        for (const events of [
          await fetched(store, bob, conv),
          await history(store, bob, conv),
          await synced(store, alice, conv),
        ]) {
          expect(at(events, r1.seq)).toMatchObject({
            body: 'reply one',
            deleted: false,
            data: { reply_to: wiped },
          });
          expect(at(events, r2.seq).data).toEqual({ reply_to: wiped, mentions: [alice], metadata: { k: 1 } });
          expect(at(events, r3.seq).data?.reply_to).toEqual({
            seq: other.seq,
            sender_id: bob,
            body: 'unrelated',
            deleted: false,
          });
          expect(JSON.stringify(events)).not.toContain('secret parent');
        }
      });

      it('refuse a parent that is not a visible, undeleted message with not_found, like a seq that does not exist, storing nothing', async () => {
        const [alice, bob, late] = ids('alice', 'bob', 'late');
        const conv = await createGroup(store, alice, [bob]);
        const early = await send(store, conv, alice, 'early');
        const doomed = await send(store, conv, alice, 'doomed');
        const edited = only(await run(store, edit(conv, alice, early.seq, 'edited')));
        await run(store, del(conv, alice, doomed.seq));
        await run(store, {
          kind: 'add_member',
          actorId: alice,
          conversationId: conv,
          userId: late,
          role: 'member',
        });
        const missing = await refusal(store, message(conv, bob, 'x', { replyTo: 999 }));
        expect(missing.code).toBe('not_found');
        const last = (await summary(store, alice, conv)).last_seq;
        for (const [sender, target] of [
          [bob, 1],
          [bob, doomed.seq],
          [bob, edited.seq],
          [late, early.seq],
        ] as const) {
          expect(await refusal(store, message(conv, sender, 'x', { replyTo: target })), `${target}`).toEqual(
            missing,
          );
        }
        expect((await summary(store, alice, conv)).last_seq).toBe(last);
      });
    });

    describe('content from before a member joined', () => {
      it('a late joiner gets no text or sender of an earlier message: a quote of it is hidden, an edit of it bodiless, in every read and in last_message', async () => {
        const [alice, bob, late] = ids('alice', 'bob', 'late');
        const conv = await createGroup(store, alice, [bob]);
        const early = await send(store, conv, alice, 'before late came');
        const joined = (
          await run(store, {
            kind: 'add_member',
            actorId: alice,
            conversationId: conv,
            userId: late,
            role: 'member',
          })
        ).events[0]!.seq;
        const quoting = await send(store, conv, bob, 'about that', { replyTo: early.seq });
        const fixed = only(await run(store, edit(conv, alice, early.seq, 'a secret correction')));
        const full = { seq: early.seq, sender_id: alice, body: 'before late came', deleted: false };
        const hidden = { seq: early.seq, sender_id: null, body: null, deleted: false, hidden: true };
        for (const read of [fetched, history, synced]) {
          const lates = await read(store, late, conv);
          expect(lates[0]?.seq, read.name).toBe(joined);
          expect(at(lates, quoting.seq).data?.reply_to, read.name).toEqual(hidden);
          expect(at(lates, fixed.seq).body, read.name).toBeNull();
          expect(JSON.stringify(lates), read.name).not.toContain('secret');
          const bobs = await read(store, bob, conv);
          expect(at(bobs, quoting.seq).data?.reply_to, read.name).toEqual(full);
          expect(at(bobs, fixed.seq).body, read.name).toBe('a secret correction');
        }
        expect((await summary(store, late, conv)).last_message?.data?.reply_to).toEqual(hidden);
        expect((await summary(store, bob, conv)).last_message?.data?.reply_to).toEqual(full);
      });
    });

    describe('mentions', () => {
      it('are stored in the order given; a non-member id is bad_request naming it; @all and @here are always allowed', async () => {
        const [alice, bob, carol, mallory] = ids('alice', 'bob', 'carol', 'mallory');
        const conv = await createGroup(store, alice, [bob, carol]);
        const mentions = [carol, '@here', alice, '@all', bob];
        const sent = await send(store, conv, alice, 'hey', { mentions });
        expect(sent.data).toEqual({ mentions });
        expect(at(await fetched(store, bob, conv), sent.seq).data?.mentions).toEqual(mentions);
        const refused = await reject(store, message(conv, alice, 'x', { mentions: [bob, mallory] }));
        expect(refused.code).toBe('bad_request');
        expect(refused.message).toContain(mallory);
        await run(store, { kind: 'remove_member', actorId: alice, conversationId: conv, userId: carol });
        const former = await reject(store, message(conv, alice, 'x', { mentions: [carol] }));
        expect(former.code).toBe('bad_request');
        expect(former.message).toContain(carol);
        const direct = await createDirect(store, alice, bob);
        expect(
          (await send(store, direct, bob, 'both', { mentions: ['@all', '@here'] })).data?.mentions,
        ).toEqual(['@all', '@here']);
        // A stranger mentioning is refused as a stranger: not_found.
        expect((await reject(store, message(conv, mallory, 'x', { mentions: ['@all'] }))).code).toBe(
          'not_found',
        );
      });

      it('count, per reader, unread messages from others that name them, @all or @here; cleared by the read cursor', async () => {
        const [alice, bob, carol] = ids('alice', 'bob', 'carol');
        const conv = await createGroup(store, alice, [bob, carol]);
        await send(store, conv, bob, 'self', { mentions: [bob] }); // own: never counted
        await send(store, conv, alice, 'by id', { mentions: [bob] });
        const m2 = await send(store, conv, carol, 'all', { mentions: ['@all'] });
        const m3 = await send(store, conv, carol, 'here', { mentions: ['@here'] });
        await send(store, conv, carol, 'someone else', { mentions: [alice] });
        const m5 = await send(store, conv, carol, 'plain');
        expect(await summary(store, bob, conv)).toMatchObject({ unread: 5, mentions: 3 });
        expect((await summary(store, alice, conv)).mentions).toBe(3);
        expect((await summary(store, carol, conv)).mentions).toBe(0);
        const position = await store.latestPosition(bob);
        await run(store, {
          kind: 'cursor',
          conversationId: conv,
          userId: bob,
          read: m2.seq,
          delivered: null,
        });
        expect(await summary(store, bob, conv)).toMatchObject({ unread: 3, mentions: 1 });
        expect(summaryInSync(await store.syncSince(bob, position, position, 100, 100), conv).mentions).toBe(
          1,
        );
        await run(store, {
          kind: 'cursor',
          conversationId: conv,
          userId: bob,
          read: m3.seq,
          delivered: null,
        });
        expect((await summary(store, bob, conv)).mentions).toBe(0);
        await run(store, {
          kind: 'cursor',
          conversationId: conv,
          userId: bob,
          read: m5.seq,
          delivered: null,
        });
        expect(await summary(store, bob, conv)).toMatchObject({ unread: 0, mentions: 0 });
      });

      it('stop counting a deleted message, never count one from before joining, and freeze at a removal', async () => {
        const [alice, bob, late] = ids('alice', 'bob', 'late');
        const conv = await createGroup(store, alice, [bob]);
        const m1 = await send(store, conv, alice, 'one', { mentions: [bob] });
        // Named several ways, one message counts once.
        await send(store, conv, alice, 'two', { mentions: ['@all', bob, '@here'] });
        expect((await summary(store, bob, conv)).mentions).toBe(2);
        await run(store, del(conv, alice, m1.seq));
        expect((await summary(store, bob, conv)).mentions).toBe(1);
        await run(store, {
          kind: 'add_member',
          actorId: alice,
          conversationId: conv,
          userId: late,
          role: 'member',
        });
        expect((await summary(store, late, conv)).mentions).toBe(0);
        await send(store, conv, alice, 'three', { mentions: [late, bob] });
        expect((await summary(store, late, conv)).mentions).toBe(1);
        expect((await summary(store, bob, conv)).mentions).toBe(2);
        await run(store, { kind: 'remove_member', actorId: alice, conversationId: conv, userId: bob });
        await send(store, conv, alice, 'four', { mentions: ['@all'] });
        await send(store, conv, alice, 'five', { mentions: ['@here'] });
        expect(await summary(store, bob, conv)).toMatchObject({ mentions: 2, left_seq: expect.any(Number) });
        expect((await summary(store, late, conv)).mentions).toBe(3);
      });
    });

    describe('pins', () => {
      it('in a group: admins and owners only; most recently pinned first; re-pin moves to the front; redundant ones are events', async () => {
        const [owner, admin, member] = ids('owner', 'admin', 'member');
        const conv = await createGroup(store, owner, [admin, member]);
        await run(store, {
          kind: 'set_role',
          actorId: owner,
          conversationId: conv,
          userId: admin,
          role: 'admin',
        });
        const [x, y, z] = [
          await send(store, conv, member, 'x'),
          await send(store, conv, member, 'y'),
          await send(store, conv, member, 'z'),
        ];
        expect((await reject(store, pin(conv, member, x.seq))).code).toBe('forbidden');
        const pinned = only(await run(store, pin(conv, admin, x.seq)));
        expect(pinned).toMatchObject({
          kind: 'pinned',
          sender_id: admin,
          ref_seq: x.seq,
          body: null,
          data: null,
        });
        await run(store, pin(conv, owner, y.seq));
        await run(store, pin(conv, admin, z.seq));
        for (const reader of [owner, admin, member])
          expect((await summary(store, reader, conv)).pinned).toEqual([z.seq, y.seq, x.seq]);
        expect(only(await run(store, pin(conv, owner, x.seq))).kind).toBe('pinned');
        expect((await summary(store, member, conv)).pinned).toEqual([x.seq, z.seq, y.seq]);
        expect((await reject(store, pin(conv, member, z.seq, 'unpinned'))).code).toBe('forbidden');
        expect(only(await run(store, pin(conv, owner, z.seq, 'unpinned')))).toMatchObject({
          kind: 'unpinned',
          ref_seq: z.seq,
          data: null,
        });
        expect(only(await run(store, pin(conv, owner, z.seq, 'unpinned'))).kind).toBe('unpinned');
        expect((await summary(store, member, conv)).pinned).toEqual([x.seq, y.seq]);
        const page = await store.syncSince(member, 0, 0, 100, 0);
        expect(summaryInSync(page, conv).pinned).toEqual([x.seq, y.seq]);
        // A retry is a duplicate with the original event.
        const op = pin(conv, admin, z.seq);
        const original = await run(store, op);
        const retry = await run(store, op);
        expect(retry).toMatchObject({ duplicate: true, events: original.events });
      });

      it(`never let more than ${MAX_PINS} in under concurrent commits`, async () => {
        const [owner] = ids('owner');
        const conv = await createGroup(store, owner, []);
        const seqs: number[] = [];
        for (let i = 0; i < MAX_PINS + 5; i++) seqs.push((await send(store, conv, owner, `m${i}`)).seq);
        const results = await Promise.all(seqs.map((seq) => store.commit([pin(conv, owner, seq)])));
        expect(results.filter((r) => r[0]!.ok)).toHaveLength(MAX_PINS);
        expect((await summary(store, owner, conv)).pinned).toHaveLength(MAX_PINS);
      });

      it('in a direct conversation: either member', async () => {
        const [alice, bob] = ids('alice', 'bob');
        const conv = await createDirect(store, alice, bob);
        const m1 = await send(store, conv, alice, 'one');
        const m2 = await send(store, conv, bob, 'two');
        await run(store, pin(conv, bob, m1.seq));
        await run(store, pin(conv, alice, m2.seq));
        expect((await summary(store, alice, conv)).pinned).toEqual([m2.seq, m1.seq]);
      });

      it(`at most ${MAX_PINS}; a deleted message is unpinned without an event; a former member sees none`, async () => {
        const [owner, member] = ids('owner', 'member');
        const conv = await createGroup(store, owner, [member]);
        const seqs: number[] = [];
        for (let i = 0; i <= MAX_PINS; i++) seqs.push((await send(store, conv, member, `m${i}`)).seq);
        for (const seq of seqs.slice(0, MAX_PINS)) await run(store, pin(conv, owner, seq));
        const extra = seqs[MAX_PINS]!;
        expect((await reject(store, pin(conv, owner, extra))).code).toBe('bad_request');
        await run(store, pin(conv, owner, seqs[0]!)); // already pinned: fine
        expect((await summary(store, member, conv)).pinned).toHaveLength(MAX_PINS);
        const deleted = only(await run(store, del(conv, member, seqs[1]!)));
        expect((await summary(store, member, conv)).pinned).not.toContain(seqs[1]);
        expect((await summary(store, member, conv)).last_seq).toBe(deleted.seq);
        await run(store, pin(conv, owner, extra));
        const pinned = (await summary(store, member, conv)).pinned;
        expect(pinned).toHaveLength(MAX_PINS);
        expect(pinned.slice(0, 2)).toEqual([extra, seqs[0]]);
        expect((await reject(store, pin(conv, owner, seqs[1]!))).code).toBe('not_found');
        expect((await reject(store, pin(conv, owner, 1))).code).toBe('not_found');
        await run(store, { kind: 'remove_member', actorId: owner, conversationId: conv, userId: member });
        expect((await summary(store, member, conv)).pinned).toEqual([]);
        expect(summaryInSync(await store.syncSince(member, 0, 0, 100, 0), conv).pinned).toEqual([]);
      });
    });

    describe('notification level', () => {
      it('defaults to all, changes only the member’s own summary, and moves their position like a cursor', async () => {
        const [alice, bob, mallory] = ids('alice', 'bob', 'mallory');
        const conv = await createGroup(store, alice, [bob]);
        expect((await summary(store, bob, conv)).notifications).toBe('all');
        const position = await store.latestPosition(bob);
        await run(store, { kind: 'notifications', conversationId: conv, userId: bob, level: 'mentions' });
        expect((await summary(store, bob, conv)).notifications).toBe('mentions');
        expect((await summary(store, alice, conv)).notifications).toBe('all');
        expect(await store.latestPosition(bob)).toBeGreaterThan(position);
        const page = await store.syncSince(bob, position, position, 100, 100);
        expect(page.conversations.map((c) => c.conversation_id)).toEqual([conv]);
        expect(page.conversations[0]!.notifications).toBe('mentions');
        expect(page.events).toEqual([]);
        await run(store, { kind: 'notifications', conversationId: conv, userId: bob, level: 'none' });
        expect(summaryInSync(await store.syncSince(bob, 0, 0, 100, 0), conv).notifications).toBe('none');

        const ghost = unknownConversation();
        const none = await refusal(store, {
          kind: 'notifications',
          conversationId: ghost,
          userId: mallory,
          level: 'none',
        });
        expect(none.code).toBe('not_found');
        expect(
          await refusal(store, {
            kind: 'notifications',
            conversationId: conv,
            userId: mallory,
            level: 'none',
          }),
        ).toEqual(none);
        await run(store, { kind: 'remove_member', actorId: alice, conversationId: conv, userId: bob });
        expect(
          await refusal(store, { kind: 'notifications', conversationId: conv, userId: bob, level: 'all' }),
        ).toEqual(none);
      });
    });
  });
}

function summaryInSync(page: { conversations: ConversationSummary[] }, conv: string): ConversationSummary {
  const found = page.conversations.find((c) => c.conversation_id === conv);
  if (!found) throw new Error(`${conv} is not in the sync page`);
  return found;
}
