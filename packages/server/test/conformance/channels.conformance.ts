import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogStore } from '../../src/store/log-store.js';
import type { WriteOp } from '../../src/store/write-ops.js';
import type { LogStoreHandle } from './log-store.conformance.js';
import {
  append,
  createGroup,
  fetched,
  history,
  ids,
  only,
  refusal,
  run,
  send,
  summary,
  unknownConversation,
} from './store-ops.js';

/**
 * Channels as the LogStore port promises them: the visibility rules of a group (members only,
 * a removed member sees nothing after the removal, a new member sees from their join), a posting
 * policy, and fan-out on read: a post writes nothing per member, yet every member's resume finds
 * it, while one member's cursor moves only that member's change token.
 */
export function describeChannelsConformance(name: string, open: () => Promise<LogStoreHandle>): void {
  describe(`LogStore conformance (channels): ${name}`, () => {
    let handle: LogStoreHandle;
    let store: LogStore;
    beforeEach(async () => {
      handle = await open();
      store = handle.store;
    });
    afterEach(async () => {
      await handle.close();
    });

    async function createChannel(
      creatorId: string,
      memberIds: string[],
      posting: 'everyone' | 'admins' = 'everyone',
    ): Promise<string> {
      return (await run(store, { kind: 'create_channel', creatorId, title: 'news', memberIds, posting }))
        .conversationId;
    }
    const add = (
      actorId: string,
      conversationId: string,
      userId: string,
      role: 'member' | 'admin' = 'member',
    ) => run(store, { kind: 'add_member', actorId, conversationId, userId, role });
    const remove = (actorId: string, conversationId: string, userId: string) =>
      run(store, { kind: 'remove_member', actorId, conversationId, userId });
    const read = (conversationId: string, userId: string, seq: number): WriteOp => ({
      kind: 'cursor',
      conversationId,
      userId,
      read: seq,
      delivered: null,
    });
    const resume = (userId: string, token: number) => store.syncSince(userId, token, token, 100, 100);

    it('creates a channel: its kind, posting policy and owner, and a created event naming the policy', async () => {
      const [owner, member] = ids('owner', 'member');
      const conv = await createChannel(owner, [member], 'admins');
      const mine = await summary(store, owner, conv);
      expect(mine).toMatchObject({ kind: 'channel', posting: 'admins', role: 'owner', member_count: 2 });
      expect((await summary(store, member, conv)).role).toBe('member');
      const [created] = await fetched(store, member, conv);
      expect(created).toMatchObject({ kind: 'created', data: { title: 'news', posting: 'admins' } });
      // A group's summary says everyone may post, and a channel marks its outcomes as a channel's.
      const group = await createGroup(store, owner, [member]);
      expect((await summary(store, member, group)).posting).toBe('everyone');
      expect((await run(store, append(conv, owner, 'message', { body: 'x' }))).channel).toBe(true);
      expect((await run(store, append(group, owner, 'message', { body: 'x' }))).channel).toBeUndefined();
    });

    it('lets only admins and owners post in a broadcast channel; members may still react', async () => {
      const [owner, admin, member] = ids('owner', 'admin', 'member');
      const conv = await createChannel(owner, [member], 'admins');
      await add(owner, conv, admin, 'admin');
      const refused = await refusal(store, append(conv, member, 'message', { body: 'may I?' }));
      expect(refused.code).toBe('posting_restricted');
      const post = await send(store, conv, admin, 'announcement');
      await send(store, conv, owner, 'and another');
      const reaction = only(
        await run(
          store,
          append(conv, member, 'reaction', { refSeq: post.seq, reaction: { emoji: '👍', action: 'add' } }),
        ),
      );
      expect(reaction.data?.count).toBe(1);
      expect(
        (await fetched(store, member, conv)).filter((e) => e.kind === 'message').map((e) => e.body),
      ).toEqual(['announcement', 'and another']);
    });

    it('changes the posting policy by an admin only, as a settings_changed event; a group has none', async () => {
      const [owner, member] = ids('owner', 'member');
      const conv = await createChannel(owner, [member]);
      await send(store, conv, member, 'open for now');
      expect(
        (await refusal(store, { kind: 'posting', actorId: member, conversationId: conv, policy: 'admins' }))
          .code,
      ).toBe('forbidden');
      const changed = only(
        await run(store, { kind: 'posting', actorId: owner, conversationId: conv, policy: 'admins' }),
      );
      expect(changed).toMatchObject({ kind: 'settings_changed', data: { posting: 'admins' } });
      expect(
        (await run(store, { kind: 'posting', actorId: owner, conversationId: conv, policy: 'admins' }))
          .duplicate,
      ).toBe(true);
      expect((await summary(store, member, conv)).posting).toBe('admins');
      expect((await refusal(store, append(conv, member, 'message', { body: 'no' }))).code).toBe(
        'posting_restricted',
      );
      const group = await createGroup(store, owner, [member]);
      expect(
        (await refusal(store, { kind: 'posting', actorId: owner, conversationId: group, policy: 'admins' }))
          .code,
      ).toBe('bad_request');
      // A stranger learns nothing: the same answer as for a conversation that does not exist.
      const [stranger] = ids('stranger');
      const unknown = await refusal(store, {
        kind: 'posting',
        actorId: stranger,
        conversationId: unknownConversation(),
        policy: 'admins',
      });
      expect(
        await refusal(store, { kind: 'posting', actorId: stranger, conversationId: conv, policy: 'admins' }),
      ).toEqual(unknown);
    });

    it('shows a channel to members only; a removed member gets nothing after the removal; a new one sees from the join', async () => {
      const [owner, member, stranger, late] = ids('owner', 'member', 'stranger', 'late');
      const conv = await createChannel(owner, [member]);
      await send(store, conv, owner, 'early');
      expect(await store.conversationFor(stranger, conv)).toBeNull();
      expect(await store.fetchAfter(stranger, conv, 0, 10)).toBeNull();
      expect(await store.historyBefore(stranger, conv, null, 10)).toBeNull();
      expect(await store.membersFor(stranger, conv)).toBeNull();
      expect((await refusal(store, append(conv, stranger, 'message', { body: 'x' }))).code).toBe('not_found');
      expect((await store.syncSince(stranger, 0, 0, 100, 100)).conversations).toEqual([]);

      const removal = (await remove(owner, conv, member)).events.at(-1)!;
      const token = await store.latestPosition(member);
      await send(store, conv, owner, 'after the removal');
      await run(store, { kind: 'rename', actorId: owner, conversationId: conv, title: 'renamed' });
      expect((await fetched(store, member, conv)).at(-1)!.seq).toBe(removal.seq);
      expect((await history(store, member, conv)).map((e) => e.body)).not.toContain('after the removal');
      expect((await resume(member, token)).conversations).toEqual([]);
      expect(await store.latestPosition(member)).toBe(token);
      const frozen = await summary(store, member, conv);
      expect(frozen).toMatchObject({ left_seq: removal.seq, last_seq: removal.seq, title: 'news' });
      expect((await refusal(store, append(conv, member, 'message', { body: 'x' }))).code).toBe('not_found');

      const joined = only(await add(owner, conv, late));
      const seen = await fetched(store, late, conv);
      expect(seen[0]!.seq).toBe(joined.seq);
      expect(seen.map((e) => e.body)).not.toContain('early');
      expect((await summary(store, late, conv)).joined_seq).toBe(joined.seq);
    });

    it("finds a post in every member's resume with its events, while a cursor moves only its owner's token", async () => {
      const [owner, a, b] = ids('owner', 'a', 'b');
      const conv = await createChannel(owner, [a, b]);
      const group = await createGroup(store, owner, [a]);
      const [tokenA, tokenB] = [await store.latestPosition(a), await store.latestPosition(b)];
      const post = await send(store, conv, owner, 'news for everyone');
      for (const [user, token] of [
        [a, tokenA],
        [b, tokenB],
      ] as const) {
        const page = await resume(user, token);
        expect(page.conversations.map((c) => c.conversation_id)).toEqual([conv]);
        expect(page.events.map((e) => e.body)).toEqual(['news for everyone']);
        expect(page.position).toBe(await store.latestPosition(user));
        expect(page.conversations[0]).toMatchObject({ unread: 1, last_seq: post.seq });
      }
      const afterPostB = await store.latestPosition(b);
      const afterPostA = await store.latestPosition(a);
      const cursor = await run(store, read(conv, a, post.seq));
      expect(cursor.cursor).toMatchObject({ readSeq: post.seq });
      // a's own view moved (their other devices learn it on resume); b's did not.
      expect(await store.latestPosition(b)).toBe(afterPostB);
      expect(await store.latestPosition(a)).toBeGreaterThan(afterPostA);
      const aResume = await resume(a, afterPostA);
      expect(aResume.conversations.map((c) => [c.conversation_id, c.unread, c.read_seq])).toEqual([
        [conv, 0, post.seq],
      ]);
      expect(aResume.events).toEqual([]);
      // No per-member receipts: the peers' cursors are your own.
      const s = await summary(store, a, conv);
      expect([s.peers_read_seq, s.peers_delivered_seq]).toEqual([s.read_seq, s.delivered_seq]);
      // Groups and channels interleave in one resume, oldest change first, page by page.
      const before = await store.latestPosition(a);
      await send(store, group, owner, 'in the group');
      await send(store, conv, owner, 'in the channel');
      const first = await store.syncSince(a, before, before, 1, 100);
      expect(first.conversations.map((c) => c.conversation_id)).toEqual([group]);
      expect(first.hasMore).toBe(true);
      const second = await store.syncSince(a, first.position, before, 1, 100);
      expect(second.conversations.map((c) => c.conversation_id)).toEqual([conv]);
      expect(second.events.map((e) => e.body)).toEqual(['in the channel']);
      expect(second.hasMore).toBe(false);
      expect(second.position).toBe(await store.latestPosition(a));
      // A listing (no token) includes the channel.
      expect((await store.syncSince(b, 0, 0, 100, 0)).conversations.map((c) => c.conversation_id)).toEqual([
        conv,
      ]);
    });

    it("counts unread and mentions from the member's cursor", async () => {
      const [owner, a] = ids('owner', 'a');
      const conv = await createChannel(owner, [a]);
      await send(store, conv, owner, 'one');
      await send(store, conv, owner, 'two', { mentions: [a] });
      const three = await send(store, conv, owner, 'three', { mentions: ['@all'] });
      expect(await summary(store, a, conv)).toMatchObject({ unread: 3, mentions: 2 });
      await run(store, read(conv, a, three.seq - 1));
      expect(await summary(store, a, conv)).toMatchObject({ unread: 1, mentions: 1 });
      await send(store, conv, a, 'my own post');
      expect(await summary(store, a, conv)).toMatchObject({ unread: 0, mentions: 0 });
    });

    it('lists the channels a user is in for the live path, and no member spans for a channel', async () => {
      const [owner, a] = ids('owner', 'a');
      const conv = await createChannel(owner, []);
      const other = await createChannel(owner, [a]);
      expect(await store.channelsOf(a)).toEqual([{ conversationId: other, joinedSeq: 1 }]);
      const joined = only(await add(owner, conv, a));
      expect(
        (await store.channelsOf(a)).sort((x, y) => x.conversationId.localeCompare(y.conversationId)),
      ).toEqual(
        [
          { conversationId: conv, joinedSeq: joined.seq },
          { conversationId: other, joinedSeq: 1 },
        ].sort((x, y) => x.conversationId.localeCompare(y.conversationId)),
      );
      await remove(a, other, a);
      expect(await store.channelsOf(a)).toEqual([{ conversationId: conv, joinedSeq: joined.seq }]);
      const spans = await store.memberSpans(conv);
      expect(spans.spans).toEqual([]);
      expect(spans.lastSeq).toBe(joined.seq);
      // Groups are not channels.
      await createGroup(store, owner, [a]);
      expect(await store.channelsOf(a)).toHaveLength(1);
    });

    it('lists its admins and you as its members; channel co-members do not share presence', async () => {
      const [owner, admin, a, b] = ids('owner', 'admin', 'a', 'b');
      const conv = await createChannel(owner, [a, b]);
      await add(owner, conv, admin, 'admin');
      const members = await store.membersFor(a, conv);
      expect(members?.map((m) => m.user_id).sort()).toEqual([owner, admin, a].sort());
      expect(await store.sharingConversationWith(a, [b, owner])).toEqual([]);
      // Their names may still be looked up: they are seen alongside in the channel's history.
      expect((await store.seenAlongside(a, [b, owner])).sort()).toEqual([b, owner].sort());
    });

    it("hides a channel a member left, and moves only that member's token", async () => {
      const [owner, a, b] = ids('owner', 'a', 'b');
      const conv = await createChannel(owner, [a, b]);
      await remove(a, conv, a);
      const before = await store.latestPosition(a);
      const bBefore = await store.latestPosition(b);
      await run(store, { kind: 'hide', conversationId: conv, userId: a });
      expect(await store.latestPosition(a)).toBeGreaterThan(before);
      expect(await store.latestPosition(b)).toBe(bBefore);
      expect((await resume(a, before)).hidden).toEqual([conv]);
      expect((await store.syncSince(a, 0, 0, 100, 0)).conversations).toEqual([]);
    });
  });
}
