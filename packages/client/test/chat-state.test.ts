import type { AckFrame } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  createDirect,
  createGroup,
  signToken,
  startTestServer,
  type TestServer,
  uid,
  until,
} from '../../server/test/helpers/server.js';
import { TypingNotifier } from '../src/index.js';
import { liveDevice } from './live-device.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ typingMinIntervalMs: 0 });
});

afterAll(async () => {
  await server?.dispose();
});

function live(user: string) {
  return liveDevice(server, user, { members: true });
}

describe('ChatState folds the live log into what an app renders', () => {
  it('keeps the messages of a conversation you are added to before its summary arrives', async () => {
    const [owner, late] = [uid('owner'), uid('late')];
    const l = await live(late);
    const created = await api<{ conversation: { conversation_id: string } }>(
      server.httpUrl,
      'POST',
      '/v1/conversations',
      {
        token: await signToken(owner),
        body: { title: 'surprise', member_ids: [late] },
      },
    );
    const conv = created.body.conversation.conversation_id;
    const o = await live(owner);
    await o.client.send(conv, 'welcome');
    await until(() => l.state.messages(conv).some((m) => m.body === 'welcome'));
    expect(l.state.conversation(conv)?.title).toBe('surprise');
    o.client.close();
    l.client.close();
  });

  it('shows ticks going sending -> delivered -> read, unread counts, edits, deletions and typing', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await createDirect(server.httpUrl, alice, bob);
    const a = await live(alice);
    const b = await live(bob);

    await a.client.send(conv, 'one');
    expect(a.state.messages(conv).map((m) => [m.body, m.status])).toEqual([['one', 'sending']]);
    await a.client.send(conv, 'two');
    await a.client.send(conv, 'three');

    await until(() => b.state.messages(conv).length === 3);
    expect(b.state.conversation(conv)?.unread).toBe(3);
    await until(() => a.state.messages(conv).every((m) => m.status === 'delivered'));
    expect(a.state.messages(conv).map((m) => m.body)).toEqual(['one', 'two', 'three']);

    b.state.markRead(conv);
    await until(() => a.state.messages(conv).every((m) => m.status === 'read'));
    await until(() => b.state.conversation(conv)?.unread === 0);

    const second = a.state.messages(conv)[1]!;
    const edit = await a.client.request<AckFrame>({
      type: 'edit',
      conversation_id: conv,
      client_msg_id: 'edit-1',
      target_seq: second.seq,
      body: 'two (edited)',
    });
    expect(edit.type).toBe('ack');
    await a.client.request<AckFrame>({
      type: 'delete',
      conversation_id: conv,
      client_msg_id: 'delete-1',
      target_seq: a.state.messages(conv)[0]!.seq,
    });
    await until(
      () => b.state.messages(conv)[1]?.body === 'two (edited)' && b.state.messages(conv)[0]!.deleted,
    );
    expect(b.state.messages(conv).map((m) => [m.body, m.edited, m.deleted])).toEqual([
      [null, false, true],
      ['two (edited)', true, false],
      ['three', false, false],
    ]);

    const notifier = new TypingNotifier((s) => a.client.typing(conv, s));
    notifier.keystroke();
    await until(() => b.state.typingIn(conv).includes(alice));
    notifier.stop();
    await until(() => b.state.typingIn(conv).length === 0);

    expect(b.state.conversations()[0]?.conversation_id).toBe(conv);

    const now = await a.client.watchPresence([bob, uid('stranger')]);
    expect(now.map((p) => [p.user_id, p.online])).toEqual([[bob, true]]);
    await until(() => a.state.presenceOf(bob)?.online === true);
    b.client.close();
    await until(() => a.state.presenceOf(bob)?.online === false);
    expect(a.state.presenceOf(bob)?.last_seen).toBeGreaterThan(0);
    a.client.close();
  });

  it('tracks each group member: who got and read each message, as members come and go', async () => {
    const [alice, bob, carol, dave] = [uid('alice'), uid('bob'), uid('carol'), uid('dave')];
    const group = await createGroup(server.httpUrl, alice, [bob, carol], 'trip');
    const [a, b, c] = [await live(alice), await live(bob), await live(carol)];
    const receipts = (seq: number) =>
      a.state
        .receiptsOf(group, seq)
        ?.map(
          (r) =>
            `${r.userId === bob ? 'bob' : r.userId === carol ? 'carol' : 'dave'}:${r.delivered ? 'd' : '-'}${r.read ? 'r' : '-'}`,
        );
    const status = (seq: number) => a.state.messages(group).find((m) => m.seq === seq)?.status;

    await until(() => a.state.membersOf(group)?.length === 3);
    await a.client.send(group, 'first');
    await until(() => a.state.messages(group).at(-1)?.seq != null);
    const first = a.state.messages(group).at(-1)!.seq!;
    await until(() => status(first) === 'delivered');
    expect(receipts(first)).toEqual(['bob:d-', 'carol:d-']);

    b.state.markRead(group);
    await until(() => receipts(first)?.includes('bob:dr') === true);
    expect(status(first)).toBe('delivered');
    c.state.markRead(group);
    await until(() => status(first) === 'read');
    expect(receipts(first)).toEqual(['bob:dr', 'carol:dr']);

    await api(server.httpUrl, 'POST', `/v1/conversations/${group}/members`, {
      token: await signToken(alice),
      body: { user_id: dave },
    });
    await until(() => a.state.membersOf(group)?.length === 4);
    // Dave joined after the first message: he is not among its readers.
    expect(receipts(first)).toEqual(['bob:dr', 'carol:dr']);
    await a.client.send(group, 'second');
    await until(() => a.state.messages(group).at(-1)?.seq != null);
    const second = a.state.messages(group).at(-1)!.seq!;
    await until(() => receipts(second)?.filter((r) => r.endsWith('d-')).length === 2);
    expect(receipts(second)).toEqual(['bob:d-', 'carol:d-', 'dave:--']);
    expect(status(second)).toBe('sent');

    // Bob's reply means he has read everything before it (no receipt frame for that).
    await b.client.send(group, 'reply');
    await until(() => receipts(second)?.includes('bob:dr') === true);
    const reply = a.state.messages(group).at(-1)!;
    expect(reply.senderId).toBe(bob);
    expect(a.state.receiptsOf(group, reply.seq!)?.map((r) => r.userId)).toEqual([carol, dave]);

    await api(server.httpUrl, 'DELETE', `/v1/conversations/${group}/members/${dave}`, {
      token: await signToken(alice),
    });
    await until(() => a.state.membersOf(group)?.length === 3);
    expect(receipts(second)).toEqual(['bob:dr', 'carol:d-']);
    expect(status(second)).toBe('delivered');
    expect(a.state.membersOf(group)?.map((m) => [m.userId, m.role])).toEqual([
      [alice, 'owner'],
      [bob, 'member'],
      [carol, 'member'],
    ]);
    for (const x of [a, b, c]) {
      x.state.close();
      x.client.close();
    }
  });
  it('puts membership and title changes in the timeline, in seq order among the messages', async () => {
    const [alice, bob, carol] = [uid('alice'), uid('bob'), uid('carol')];
    const group = await createGroup(server.httpUrl, alice, [bob], 'plans');
    const a = await live(alice);
    const asAlice = { token: await signToken(alice) };
    await a.client.send(group, 'hello');
    await until(() => a.state.messages(group).at(-1)?.seq != null);
    await api(server.httpUrl, 'POST', `/v1/conversations/${group}/members`, {
      ...asAlice,
      body: { user_id: carol, role: 'admin' },
    });
    await api(server.httpUrl, 'PATCH', `/v1/conversations/${group}`, {
      ...asAlice,
      body: { title: 'new plans' },
    });
    await api(server.httpUrl, 'DELETE', `/v1/conversations/${group}/members/${bob}`, {
      token: await signToken(bob),
    });
    await a.client.send(group, 'after');
    const line = (item: ReturnType<typeof a.state.timeline>[number]) =>
      item.type === 'message'
        ? `message:${item.message.body}`
        : `${item.notice.kind}:${item.notice.actorId === alice ? 'alice' : 'bob'}:${item.notice.userId === carol ? 'carol' : item.notice.userId === bob ? 'bob' : '-'}:${item.notice.role ?? item.notice.title ?? '-'}`;
    await until(
      () => a.state.timeline(group).at(-1)?.type === 'message' && a.state.timeline(group).length === 5,
    );
    expect(a.state.timeline(group).map(line)).toEqual([
      'message:hello',
      'member_added:alice:carol:admin',
      'renamed:alice:-:new plans',
      'member_left:bob:bob:-',
      'message:after',
    ]);
    // Loading older history brings the created event in front, without repeating anything.
    await a.state.loadOlder(group);
    expect(a.state.timeline(group).map(line)).toEqual([
      'created:alice:-:plans',
      'message:hello',
      'member_added:alice:carol:admin',
      'renamed:alice:-:new plans',
      'member_left:bob:bob:-',
      'message:after',
    ]);
    expect(a.state.messages(group).map((m) => m.body)).toEqual(['hello', 'after']);
    a.state.close();
    a.client.close();
  });
  it("carries a message's metadata from the outbox to every device, and drops it with a deletion", async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await createDirect(server.httpUrl, alice, bob);
    const [a, b] = [await live(alice), await live(bob)];
    const metadata = { type: 'poll', question: 'Lunch?', options: ['pizza', 'sushi'] };
    const entry = await a.client.send(conv, 'Lunch?', { metadata });
    expect(a.state.messages(conv).at(-1)).toMatchObject({ seq: null, metadata });
    await until(() => b.state.messages(conv).some((m) => m.clientMsgId === entry.clientMsgId));
    const seen = b.state.messages(conv).find((m) => m.clientMsgId === entry.clientMsgId)!;
    expect(seen.metadata).toEqual(metadata);
    await until(() => a.state.messages(conv).at(-1)?.seq != null);
    expect(a.state.messages(conv).at(-1)?.metadata).toEqual(metadata);
    await a.client.deleteMessage(conv, seen.seq!);
    await until(() => b.state.messages(conv).find((m) => m.seq === seen.seq)?.deleted === true);
    expect(b.state.messages(conv).find((m) => m.seq === seen.seq)?.metadata).toBeNull();
    for (const x of [a, b]) {
      x.state.close();
      x.client.close();
    }
  });
});
