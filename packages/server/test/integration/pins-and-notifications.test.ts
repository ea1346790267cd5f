import { randomUUID } from 'node:crypto';
import {
  type AckFrame,
  type ConversationSummary,
  type ErrorFrame,
  type EventFrame,
  MAX_PINS,
  type ServerPingFrame,
} from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AckedEvent, changeMember, expectAckedEvent, summaryOf } from '../helpers/chat-requests.js';
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
} from '../helpers/server.js';

/** Pins (a conversation's list of pinned messages) and each member's notification level. */
describe('pins and notification levels', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ sendsPerSecond: 1000, sendBurst: 1000, frameBurst: 2000 });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const pin = (
    c: TestClient,
    conv: string,
    target: number,
    action: 'pin' | 'unpin' = 'pin',
    cmid: string = randomUUID(),
  ) =>
    c.request<AckFrame | ErrorFrame>({
      type: 'pin',
      conversation_id: conv,
      client_msg_id: cmid,
      target_seq: target,
      action,
    });

  /** A pin or unpin that must be acked with its event. */
  async function pinOk(
    c: TestClient,
    conv: string,
    target: number,
    action: 'pin' | 'unpin' = 'pin',
  ): Promise<AckedEvent> {
    return expectAckedEvent(await pin(c, conv, target, action), 'a pin');
  }

  const setNotifications = (c: TestClient, conv: string, level: string) =>
    c.request({ type: 'set_notifications', conversation_id: conv, level });

  const call = async <T = unknown>(user: string, method: string, path: string, body?: unknown) =>
    api<T>(server.httpUrl, method, path, { token: await signToken(user), body });

  const pinnedOf = async (c: TestClient, conv: string) => (await summaryOf(c, conv)).pinned;

  async function setup() {
    const [owner, admin, member] = [uid('owner'), uid('admin'), uid('member')];
    const conv = await createGroup(server.httpUrl, owner, [admin, member], 'pins');
    const promoted = await call(owner, 'PATCH', `/v1/conversations/${conv}/members/${admin}`, {
      role: 'admin',
    });
    expect(promoted.status).toBe(200);
    const o = await TestClient.open(server.wsUrl, { user: owner });
    const ad = await TestClient.open(server.wsUrl, { user: admin });
    const m1 = await TestClient.open(server.wsUrl, { user: member }, { deviceId: 'm1' });
    const m2 = await TestClient.open(server.wsUrl, { user: member }, { deviceId: 'm2' });
    return { owner, admin, member, conv, o, ad, m1, m2, all: [o, ad, m1, m2] };
  }

  describe('pins', () => {
    it('in a group only admins and owners pin or unpin: a plain member gets forbidden and stores nothing', async () => {
      const { owner, admin, conv, o, ad, m1, m2, all } = await setup();
      try {
        const msg = await m1.sendOk(conv, 'pin me');
        expectError(await pin(m1, conv, msg.seq), 'forbidden');
        const marks = new Map(all.map((c) => [c, c.mark()] as const));
        const pinned = await pinOk(ad, conv, msg.seq);
        expect(pinned).toMatchObject({ duplicate: false, seq: msg.seq + 1 });
        expect(pinned.event).toMatchObject({
          conversation_id: conv,
          seq: pinned.seq,
          kind: 'pinned',
          sender_id: admin,
          ref_seq: msg.seq,
          body: null,
          data: null,
          deleted: false,
        });
        for (const receiver of [o, m1, m2]) {
          const pushed = await receiver.waitFor<EventFrame>(
            (f) => f.type === 'event' && f.event.seq === pinned.seq,
            { from: marks.get(receiver), label: 'pinned event' },
          );
          expect(pushed.event).toEqual(pinned.event);
        }
        expectError(await pin(m2, conv, msg.seq, 'unpin'), 'forbidden');
        expect(await pinnedOf(m1, conv)).toEqual([msg.seq]);
        const unpinned = await pinOk(o, conv, msg.seq, 'unpin');
        expect(unpinned.event).toMatchObject({
          kind: 'unpinned',
          sender_id: owner,
          ref_seq: msg.seq,
          data: null,
        });
        expect(await pinnedOf(m1, conv)).toEqual([]);
        const history = await m1.fullHistory(conv);
        expect(
          history
            .filter((e) => e.kind === 'pinned' || e.kind === 'unpinned')
            .map((e) => [e.kind, e.sender_id]),
        ).toEqual([
          ['pinned', admin],
          ['unpinned', owner],
        ]);
      } finally {
        await closeAll(all);
      }
    });

    it('in a direct conversation either member pins', async () => {
      const [alice, bob] = [uid('alice'), uid('bob')];
      const conv = await createDirect(server.httpUrl, alice, bob);
      const a = await TestClient.open(server.wsUrl, { user: alice });
      const b = await TestClient.open(server.wsUrl, { user: bob });
      try {
        const first = await a.sendOk(conv, 'one');
        const second = await b.sendOk(conv, 'two');
        await pinOk(b, conv, first.seq);
        await pinOk(a, conv, second.seq);
        expect(await pinnedOf(a, conv)).toEqual([second.seq, first.seq]);
        expect(await pinnedOf(b, conv)).toEqual([second.seq, first.seq]);
        await pinOk(b, conv, second.seq, 'unpin');
        expect(await pinnedOf(a, conv)).toEqual([first.seq]);
      } finally {
        await closeAll([a, b]);
      }
    });

    it('summary.pinned lists the most recently pinned first; re-pinning moves to the front; redundant pins and unpins are still events', async () => {
      const { conv, o, ad, m1, all } = await setup();
      try {
        const token = expectFrame(await m1.sync(), 'sync_result').token;
        const [x, y, z] = [await o.sendOk(conv, 'x'), await o.sendOk(conv, 'y'), await o.sendOk(conv, 'z')];
        await pinOk(o, conv, x.seq);
        await pinOk(ad, conv, y.seq);
        await pinOk(o, conv, z.seq);
        for (const reader of [o, ad, m1]) expect(await pinnedOf(reader, conv)).toEqual([z.seq, y.seq, x.seq]);
        const repin = await pinOk(ad, conv, x.seq);
        expect(repin.event.kind).toBe('pinned');
        expect(await pinnedOf(m1, conv)).toEqual([x.seq, z.seq, y.seq]);
        await pinOk(o, conv, z.seq, 'unpin');
        const again = await pinOk(o, conv, z.seq, 'unpin');
        expect(again.event).toMatchObject({ kind: 'unpinned', ref_seq: z.seq });
        expect(await pinnedOf(m1, conv)).toEqual([x.seq, y.seq]);
        // The change reaches a sync by token, and the HTTP summary agrees.
        const changed = await summaryOf(m1, conv, token);
        expect(changed.pinned).toEqual([x.seq, y.seq]);
        const http = await call<{ conversation: ConversationSummary }>(
          m1.ready!.user_id,
          'GET',
          `/v1/conversations/${conv}`,
        );
        expect(http.body.conversation.pinned).toEqual([x.seq, y.seq]);
        const history = await m1.fullHistory(conv);
        expect(
          history.filter((e) => e.kind === 'pinned' || e.kind === 'unpinned').map((e) => [e.kind, e.ref_seq]),
        ).toEqual([
          ['pinned', x.seq],
          ['pinned', y.seq],
          ['pinned', z.seq],
          ['pinned', x.seq],
          ['unpinned', z.seq],
          ['unpinned', z.seq],
        ]);
      } finally {
        await closeAll(all);
      }
    });

    it('a retry with the same client_msg_id answers duplicate:true with the original seq and event', async () => {
      const { conv, o, ad, all } = await setup();
      try {
        const msg = await o.sendOk(conv, 'once');
        const cmid = randomUUID();
        const original = expectAck(await pin(ad, conv, msg.seq, 'pin', cmid));
        const retry = expectAck(await pin(ad, conv, msg.seq, 'pin', cmid));
        expect(retry).toMatchObject({ duplicate: true, seq: original.seq, client_msg_id: cmid });
        expect(retry.event).toEqual(original.event);
        expect((await o.fullHistory(conv)).filter((e) => e.kind === 'pinned')).toHaveLength(1);
      } finally {
        await closeAll(all);
      }
    });

    it('deleting a pinned message unpins it without an extra event', async () => {
      const { conv, o, ad, m1, all } = await setup();
      try {
        const doomed = await m1.sendOk(conv, 'doomed');
        const kept = await m1.sendOk(conv, 'kept');
        await pinOk(o, conv, doomed.seq);
        await pinOk(o, conv, kept.seq);
        const deleted = expectAck(
          await m1.request({
            type: 'delete',
            conversation_id: conv,
            client_msg_id: randomUUID(),
            target_seq: doomed.seq,
          }),
        );
        for (const reader of [o, ad, m1]) expect(await pinnedOf(reader, conv)).toEqual([kept.seq]);
        const history = await o.fullHistory(conv);
        expect(history.at(-1)).toMatchObject({ seq: deleted.seq, kind: 'delete' });
        expect(history.filter((e) => e.kind === 'unpinned')).toEqual([]);
        expectError(await pin(o, conv, doomed.seq), 'not_found');
      } finally {
        await closeAll(all);
      }
    });

    it(`at most ${MAX_PINS} pinned messages: pinning one more is bad_request; re-pinning one already pinned is not`, async () => {
      const { conv, o, m1, all } = await setup();
      try {
        const seqs: number[] = [];
        for (let i = 0; i <= MAX_PINS; i++) seqs.push((await m1.sendOk(conv, `m${i}`)).seq);
        for (const seq of seqs.slice(0, MAX_PINS)) await pinOk(o, conv, seq);
        const extra = seqs[MAX_PINS]!;
        expectError(await pin(o, conv, extra), 'bad_request');
        const full = [...seqs.slice(0, MAX_PINS)].reverse();
        expect(await pinnedOf(m1, conv)).toEqual(full);
        // Re-pinning the oldest moves it to the front: still 50.
        await pinOk(o, conv, seqs[0]!);
        expect(await pinnedOf(m1, conv)).toEqual([seqs[0], ...full.slice(0, -1)]);
        // Unpinning one makes room.
        await pinOk(o, conv, seqs[1]!, 'unpin');
        await pinOk(o, conv, extra);
        const now = await pinnedOf(m1, conv);
        expect(now).toHaveLength(MAX_PINS);
        expect(now[0]).toBe(extra);
        expect(now).not.toContain(seqs[1]);
      } finally {
        await closeAll(all);
      }
    });

    it('the target must be a message the pinner can see, not deleted: anything else is not_found like a seq that does not exist', async () => {
      const { owner, conv, o, m1, all } = await setup();
      const lateAdmin = uid('late');
      let l: TestClient | undefined;
      try {
        const early = await m1.sendOk(conv, 'early');
        const doomed = await m1.sendOk(conv, 'doomed');
        const edited = expectAck(
          await m1.request({
            type: 'edit',
            conversation_id: conv,
            client_msg_id: randomUUID(),
            target_seq: early.seq,
            body: 'early, edited',
          }),
        );
        expectAck(
          await m1.request({
            type: 'delete',
            conversation_id: conv,
            client_msg_id: randomUUID(),
            target_seq: doomed.seq,
          }),
        );
        const pinEvent = await pinOk(o, conv, early.seq);
        const added = await call<{ seq: number }>(owner, 'POST', `/v1/conversations/${conv}/members`, {
          user_id: lateAdmin,
        });
        expect(added.status).toBe(200);
        expect(
          (await call(owner, 'PATCH', `/v1/conversations/${conv}/members/${lateAdmin}`, { role: 'admin' }))
            .status,
        ).toBe(200);
        l = await TestClient.open(server.wsUrl, { user: lateAdmin });
        const visible = await o.sendOk(conv, 'after');
        const missing = expectError(await pin(o, conv, visible.seq + 1000), 'not_found');
        const cases: Array<[TestClient, number, string]> = [
          [o, 1, 'the created event'],
          [o, doomed.seq, 'a deleted message'],
          [o, edited.seq, 'an edit event'],
          [o, pinEvent.seq, 'a pinned event'],
          [o, added.body.seq, 'a member_added event'],
          [l, early.seq, 'a message from before the pinner joined'],
          [l, visible.seq + 1000, 'a seq beyond the log, for the newcomer'],
        ];
        for (const [client, target, what] of cases) {
          const refused = expectError(await pin(client, conv, target), 'not_found');
          expect(withoutRe(refused), what).toEqual(withoutRe(missing));
        }
        await pinOk(l, conv, visible.seq);
        expect(await pinnedOf(m1, conv)).toEqual([visible.seq, early.seq]);
      } finally {
        await closeAll([...all, l]);
      }
    });

    it('a former member sees no pins', async () => {
      const { owner, member, conv, o, m1, all } = await setup();
      try {
        const token = expectFrame(await m1.sync(), 'sync_result').token;
        const msg = await o.sendOk(conv, 'pinned for members');
        await pinOk(o, conv, msg.seq);
        expect(await pinnedOf(m1, conv)).toEqual([msg.seq]);
        const removal = await changeMember(server.httpUrl, 'DELETE', conv, owner, member);
        expect(await summaryOf(m1, conv, token)).toMatchObject({ left_seq: removal, pinned: [] });
      } finally {
        await closeAll(all);
      }
    });
  });

  describe('notification level', () => {
    it('set_notifications answers ok and changes only your summary; a sync with the old token returns it again; other devices learn it from the heartbeat token', async () => {
      const { conv, o, ad, m1, m2, all } = await setup();
      try {
        for (const reader of [o, ad, m1]) expect((await summaryOf(reader, conv)).notifications).toBe('all');
        const first = expectFrame(await m2.sync(), 'sync_result');
        const token = first.token;

        const answer = await setNotifications(m1, conv, 'mentions');
        expect(answer).toEqual({ type: 'ok', re: expect.any(String) });
        const ping = await m2.waitFor<ServerPingFrame>((f) => f.type === 'ping' && f.token !== token, {
          from: m2.mark(),
          label: 'a ping with a new token',
        });
        const changed = expectFrame(await m2.sync(token), 'sync_result');
        expect(changed.conversations.map((c) => c.conversation_id)).toEqual([conv]);
        expect(changed.conversations[0]!.notifications).toBe('mentions');
        expect(changed.events.filter((e) => e.conversation_id === conv)).toEqual([]);
        expect(changed.token).toBe(ping.token);
        // Only the member's own view: the others still see `all`.
        expect((await summaryOf(o, conv)).notifications).toBe('all');
        expect((await summaryOf(ad, conv)).notifications).toBe('all');

        for (const level of ['none', 'all', 'mentions'] as const) {
          expectFrame(await setNotifications(m2, conv, level), 'ok');
          expect((await summaryOf(m1, conv)).notifications).toBe(level);
        }
        const { id, frame } = await m1.requestLoose({
          type: 'set_notifications',
          conversation_id: conv,
          level: 'loud',
        });
        expectError(frame, 'bad_request');
        expect(frame.type === 'error' && frame.re).toBe(id);
        expect((await summaryOf(m1, conv)).notifications).toBe('mentions');
      } finally {
        await closeAll(all);
      }
    });
  });

  it('a stranger and a removed admin can neither pin nor set notifications: the error equals that for a conversation that does not exist, and nothing reaches them', async () => {
    const { owner, admin, conv, o, ad, all } = await setup();
    const stranger = uid('stranger');
    const x = await TestClient.open(server.wsUrl, { user: stranger });
    const ghost = unknownConversationId();
    try {
      const msg = await o.sendOk(conv, 'members only');
      await pinOk(ad, conv, msg.seq);
      const removal = await changeMember(server.httpUrl, 'DELETE', conv, owner, admin);
      const marks = new Map([
        [x, x.mark()],
        [ad, ad.mark()],
      ]);
      for (const outsider of [x, ad]) {
        const attempts: Array<(id: string) => Record<string, unknown> & { type: string }> = [
          (id) => ({
            type: 'pin',
            conversation_id: id,
            client_msg_id: randomUUID(),
            target_seq: msg.seq,
            action: 'pin',
          }),
          (id) => ({
            type: 'pin',
            conversation_id: id,
            client_msg_id: randomUUID(),
            target_seq: msg.seq,
            action: 'unpin',
          }),
          (id) => ({
            type: 'pin',
            conversation_id: id,
            client_msg_id: randomUUID(),
            target_seq: 9999,
            action: 'pin',
          }),
          (id) => ({ type: 'set_notifications', conversation_id: id, level: 'none' }),
        ];
        for (const make of attempts) {
          const none = withoutRe(expectError(await outsider.request(make(ghost)), 'not_found'));
          const refused = expectError(await outsider.request(make(conv)), 'not_found');
          expect(withoutRe(refused), JSON.stringify(make(conv))).toEqual(none);
        }
      }
      expect(await pinnedOf(o, conv)).toEqual([msg.seq]);
      // Members go on pinning; the outsiders hear nothing of it (a direct message sent after is the barrier).
      const later = await o.sendOk(conv, 'later');
      await pinOk(o, conv, later.seq);
      await expectNothingReached(server.httpUrl, {
        conv,
        after: removal,
        sender: [o, owner],
        outsiders: [
          [x, stranger],
          [ad, admin],
        ],
        marks,
      });
      const history = await o.fullHistory(conv);
      expect(
        history.filter((e) => e.kind === 'pinned' || e.kind === 'unpinned').map((e) => e.ref_seq),
      ).toEqual([msg.seq, later.seq]);
    } finally {
      await closeAll([...all, x]);
    }
  });
});
