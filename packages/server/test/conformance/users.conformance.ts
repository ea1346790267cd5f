import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccountStore, UserCandidate, UserRecord } from '../../src/store/account-store.js';
import type { LogStore } from '../../src/store/log-store.js';
import { createGroup, run, uid } from './store-ops.js';

/**
 * Profiles and finding people as the AccountStore port promises them: the name-word index a user
 * search reads (kept with every write of a name), avatars, and the password reset that revokes
 * every session. Names carry a marker no other test uses, so adapters may share one database.
 */
export interface UsersHandle {
  store: LogStore;
  accounts: AccountStore;
  close(): Promise<void>;
}

/** Ten letters no other test wrote (a UUID's hex digits, 0-9 mapped to g-p). */
function marker(): string {
  const hex = randomUUID().replaceAll('-', '').slice(0, 10);
  return hex.replace(/[0-9]/g, (d) => String.fromCharCode(103 + Number(d)));
}

export function describeUsersConformance(name: string, open: () => Promise<UsersHandle>): void {
  describe(`${name} users conformance`, () => {
    let handle: UsersHandle;
    let accounts: AccountStore;

    beforeEach(async () => {
      handle = await open();
      accounts = handle.accounts;
    });
    afterEach(async () => {
      await handle.close();
    });

    async function user(username: string | null, displayName: string | null): Promise<UserRecord> {
      const record: UserRecord = {
        id: uid('u'),
        username,
        displayName,
        passwordHash: 'hash',
        createdAt: 1,
        avatarTag: null,
        bot: false,
      };
      await accounts.createUser(record);
      return record;
    }

    async function find(callerId: string, word: string, limit = 50): Promise<Record<string, boolean>> {
      const found: UserCandidate[] = await accounts.findUsers({ callerId, word, limit });
      return Object.fromEntries(found.map((c) => [c.user.username ?? c.user.id, c.contact]));
    }

    it('finds users by a prefix of their username or of a display-name word, in any case and script', async () => {
      const m = marker();
      const caller = await user(`${m}_caller`, null);
      await user(`${m}_ada`, 'Ada Lovelace');
      await user(`${m}zz`, `Émile ${m}Zola`);
      await user(`other_${m}`, 'Someone Else');

      expect(await find(caller.id, m)).toEqual({ [`${m}_ada`]: false, [`${m}zz`]: false });
      expect(await find(caller.id, `${m}_a`)).toEqual({ [`${m}_ada`]: false });
      expect(await find(caller.id, `${m}zola`)).toEqual({ [`${m}zz`]: false });
      // Display-name words are lower-cased beyond ASCII; the query arrives lower-cased.
      const emile = await accounts.findUsers({ callerId: caller.id, word: 'émile', limit: 500 });
      expect(emile.map((c) => c.user.username)).toContain(`${m}zz`);
      expect(await find(caller.id, `${m}_caller`)).toEqual({});
      const [hit] = await accounts.findUsers({ callerId: caller.id, word: `${m}_ada`, limit: 5 });
      expect(hit?.user).toMatchObject({ username: `${m}_ada`, displayName: 'Ada Lovelace', avatarTag: null });
    });

    it('marks a user as a bot and back, and a bare user created by id starts as no bot', async () => {
      const id = uid('bot');
      await accounts.ensureUser(id);
      expect((await accounts.userById(id))?.bot).toBe(false);
      await accounts.setBot(id, true);
      expect((await accounts.userById(id))?.bot).toBe(true);
      await accounts.setBot(id, false);
      expect((await accounts.userById(id))?.bot).toBe(false);
      const missing = uid('missing');
      await accounts.setBot(missing, true);
      expect(await accounts.userById(missing)).toBeNull();
    });

    it('marks as contacts the users in a conversation with the caller now, and finds all of them past the limit', async () => {
      const m = marker();
      const caller = await user(`${m}_me`, null);
      const friend = await user(`${m}_friend`, null);
      const left = await user(`${m}_left`, null);
      const strangers = await Promise.all([1, 2, 3].map((i) => user(`${m}_a${i}`, null)));
      const group = await createGroup(handle.store, caller.id, [friend.id, left.id]);
      await run(handle.store, {
        kind: 'remove_member',
        actorId: left.id,
        conversationId: group,
        userId: left.id,
      });

      expect(await find(caller.id, m)).toEqual({
        [`${m}_friend`]: true,
        [`${m}_left`]: false,
        ...Object.fromEntries(strangers.map((s) => [s.username, false])),
      });
      // Others are cut at the limit (first in word order), contacts are not.
      expect(await find(caller.id, m, 2)).toEqual({
        [`${m}_friend`]: true,
        [`${m}_a1`]: false,
        [`${m}_a2`]: false,
      });
      expect(await find(friend.id, `${m}_me`)).toEqual({ [`${m}_me`]: true });
    });

    it('re-indexes a user whose display name changes, and clears it with null', async () => {
      const m = marker();
      const caller = await user(`${m}_me`, null);
      const renamed = await user(`${m}_x`, `${m}old Name`);
      await accounts.setDisplayName(renamed.id, `${m}new Name`);
      expect(await find(caller.id, `${m}old`)).toEqual({});
      expect(await find(caller.id, `${m}new`)).toEqual({ [`${m}_x`]: false });
      expect((await accounts.userById(renamed.id))?.displayName).toBe(`${m}new Name`);
      await accounts.setDisplayName(renamed.id, null);
      expect(await find(caller.id, `${m}new`)).toEqual({});
      expect(await find(caller.id, `${m}_x`)).toEqual({ [`${m}_x`]: false });
      expect((await accounts.userById(renamed.id))?.displayName).toBeNull();
      await accounts.setDisplayName(uid('missing'), 'Nobody');
      expect(await find(caller.id, 'nobody', 500)).not.toHaveProperty('Nobody');
    });

    it('stores, replaces and removes an avatar, with its tag on the user', async () => {
      const owner = await user(`${marker()}_pic`, null);
      expect(await accounts.avatar(owner.id)).toBeNull();
      const first = { contentType: 'image/png', bytes: new Uint8Array([1, 2, 3, 0, 255]), tag: 'tag-1' };
      await accounts.setAvatar(owner.id, first);
      expect(await accounts.avatar(owner.id)).toEqual({ ...first, bytes: expect.anything() });
      expect([...(await accounts.avatar(owner.id))!.bytes]).toEqual([1, 2, 3, 0, 255]);
      expect((await accounts.userById(owner.id))?.avatarTag).toBe('tag-1');

      await accounts.setAvatar(owner.id, {
        contentType: 'image/webp',
        bytes: new Uint8Array([9]),
        tag: 'tag-2',
      });
      expect(await accounts.avatar(owner.id)).toMatchObject({ contentType: 'image/webp', tag: 'tag-2' });
      expect((await accounts.userByUsername(owner.username!))?.avatarTag).toBe('tag-2');

      await accounts.setAvatar(owner.id, null);
      expect(await accounts.avatar(owner.id)).toBeNull();
      expect((await accounts.userById(owner.id))?.avatarTag).toBeNull();
      await accounts.setAvatar(uid('missing'), first);
      expect(await accounts.avatar(uid('missing'))).toBeNull();
    });

    it('resets a password and revokes every live session of that user only, at once', async () => {
      const target = await user(`${marker()}_reset`, null);
      const bystander = await user(`${marker()}_keep`, null);
      const [a, b, old, other] = ['a', 'b', 'old', 'other'].map(() => `th-${randomUUID()}`) as [
        string,
        string,
        string,
        string,
      ];
      await accounts.createSession({ tokenHash: a, userId: target.id, expiresAt: 9e12, revokedAt: null });
      await accounts.createSession({ tokenHash: b, userId: target.id, expiresAt: 9e12, revokedAt: null });
      await accounts.createSession({ tokenHash: old, userId: target.id, expiresAt: 9e12, revokedAt: 5 });
      await accounts.createSession({
        tokenHash: other,
        userId: bystander.id,
        expiresAt: 9e12,
        revokedAt: null,
      });

      expect((await accounts.resetPassword(target.id, 'new-hash', 1000)).sort()).toEqual([a, b].sort());
      expect((await accounts.userById(target.id))?.passwordHash).toBe('new-hash');
      expect((await accounts.sessionByTokenHash(a))?.revokedAt).toBe(1000);
      expect((await accounts.sessionByTokenHash(b))?.revokedAt).toBe(1000);
      expect((await accounts.sessionByTokenHash(old))?.revokedAt).toBe(5);
      expect((await accounts.sessionByTokenHash(other))?.revokedAt).toBeNull();
      expect(await accounts.resetPassword(uid('missing'), 'x', 1000)).toEqual([]);
    });

    it("revokes every live session of a user (the server API's sign-out everywhere), only theirs", async () => {
      const target = await user(`${marker()}_out`, null);
      const bystander = await user(`${marker()}_stay`, null);
      const [live, old, other] = ['live', 'old', 'other'].map(() => `th-${randomUUID()}`) as [
        string,
        string,
        string,
      ];
      await accounts.createSession({ tokenHash: live, userId: target.id, expiresAt: 9e12, revokedAt: null });
      await accounts.createSession({ tokenHash: old, userId: target.id, expiresAt: 9e12, revokedAt: 5 });
      await accounts.createSession({
        tokenHash: other,
        userId: bystander.id,
        expiresAt: 9e12,
        revokedAt: null,
      });

      expect(await accounts.revokeUserSessions(target.id, 2000)).toEqual([live]);
      expect((await accounts.sessionByTokenHash(live))?.revokedAt).toBe(2000);
      expect((await accounts.sessionByTokenHash(old))?.revokedAt).toBe(5);
      expect((await accounts.sessionByTokenHash(other))?.revokedAt).toBeNull();
      expect(await accounts.revokeUserSessions(target.id, 3000)).toEqual([]);
      expect(await accounts.revokeUserSessions(uid('missing'), 3000)).toEqual([]);
    });
  });
}
