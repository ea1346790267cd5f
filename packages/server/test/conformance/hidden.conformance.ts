import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogStore } from '../../src/store/log-store.js';
import type { WriteOp } from '../../src/store/write-ops.js';
import type { LogStoreHandle } from './log-store.conformance.js';
import { createGroup, ids, refusal, run, send, unknownConversation } from './store-ops.js';

/**
 * Hiding a group you left, as the LogStore port promises it: only a former member may (anyone
 * else reads `not_found`, as for a conversation that does not exist); a hidden conversation drops
 * out of a listing, and a resume from before the hide names it in `hidden`; the hider's change
 * token moves; hiding again changes nothing; being added again clears the mark.
 */
export function describeHiddenConformance(name: string, open: () => Promise<LogStoreHandle>): void {
  describe(`LogStore conformance (hidden conversations): ${name}`, () => {
    let handle: LogStoreHandle;
    let store: LogStore;
    beforeEach(async () => {
      handle = await open();
      store = handle.store;
    });
    afterEach(async () => {
      await handle.close();
    });

    const hide = (conversationId: string, userId: string): WriteOp => ({
      kind: 'hide',
      conversationId,
      userId,
    });
    const listed = async (userId: string) =>
      (await store.syncSince(userId, 0, 0, 100, 0)).conversations.map((c) => c.conversation_id);

    it('refuses a current member, a stranger and an unknown conversation alike', async () => {
      const [owner, member, stranger] = ids('owner', 'member', 'stranger');
      const conv = await createGroup(store, owner, [member]);
      const unknown = await refusal(store, hide(unknownConversation(), member));
      expect(unknown.code).toBe('not_found');
      expect(await refusal(store, hide(conv, member))).toEqual(unknown);
      expect(await refusal(store, hide(conv, stranger))).toEqual(unknown);
      expect(await listed(member)).toEqual([conv]);
    });

    it('drops a left group from the listing and names it on resume; the token moves once', async () => {
      const [owner, member] = ids('owner', 'member');
      const conv = await createGroup(store, owner, [member]);
      const other = await createGroup(store, owner, [member], 'kept');
      await send(store, conv, owner, 'before');
      await run(store, { kind: 'remove_member', actorId: member, conversationId: conv, userId: member });
      const before = await store.latestPosition(member);
      expect((await listed(member)).sort()).toEqual([conv, other].sort());

      expect((await run(store, hide(conv, member))).duplicate).toBe(false);
      const after = await store.latestPosition(member);
      expect(after).toBeGreaterThan(before);
      expect(await listed(member)).toEqual([other]);
      const resume = await store.syncSince(member, before, before, 100, 10);
      expect(resume.hidden).toEqual([conv]);
      expect(resume.conversations).toEqual([]);
      expect(resume.position).toBe(after);

      expect((await run(store, hide(conv, member))).duplicate).toBe(true);
      expect(await store.latestPosition(member)).toBe(after);
      // The owner's view is untouched by someone else's mark.
      expect((await listed(owner)).sort()).toEqual([conv, other].sort());
    });

    it('works for a removed member too, and being added again clears the mark', async () => {
      const [owner, member] = ids('owner', 'member');
      const conv = await createGroup(store, owner, [member]);
      await run(store, { kind: 'remove_member', actorId: owner, conversationId: conv, userId: member });
      await run(store, hide(conv, member));
      const hiddenAt = await store.latestPosition(member);
      expect(await listed(member)).toEqual([]);

      await run(store, {
        kind: 'add_member',
        actorId: owner,
        conversationId: conv,
        userId: member,
        role: 'member',
      });
      expect(await listed(member)).toEqual([conv]);
      const resume = await store.syncSince(member, hiddenAt, hiddenAt, 100, 10);
      expect(resume.hidden).toEqual([]);
      expect(resume.conversations.map((c) => c.conversation_id)).toEqual([conv]);
      expect(await refusal(store, hide(conv, member))).toMatchObject({ code: 'not_found' });
    });
  });
}
