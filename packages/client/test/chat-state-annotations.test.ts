import type { ChatEvent, ConversationSummary } from '@natter/protocol';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createDirect,
  createGroup,
  startTestServer,
  type TestServer,
  uid,
  until,
} from '../../server/test/helpers/server.js';
import { ChatState, type MessageView, NatterClient, type SendOptions } from '../src/index.js';
import { type LiveDevice, liveDevice } from './live-device.js';
import { messageEvent, scriptedServer, summaryOf, syncAnswer } from './scripted-server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.dispose();
});

const opened: LiveDevice[] = [];
afterEach(() => {
  for (const device of opened.splice(0)) {
    device.state.close();
    device.client.close();
  }
});

/** One device of a user: its client, the ChatState folded from it, and HTTP as that user. */

/** A new device of `user`, live. */
async function live(user: string): Promise<LiveDevice> {
  const device = await liveDevice(server, user, { members: true });
  opened.push(device);
  return device;
}

const seqOf = (device: LiveDevice, conversationId: string, body: string) =>
  device.state.messages(conversationId).find((m) => m.body === body && m.seq !== null)?.seq ?? undefined;

/** Sends and waits for the ack: the message's seq. */
async function sent(device: LiveDevice, conversationId: string, body: string, options?: SendOptions) {
  await device.client.send(conversationId, body, options);
  await until(() => seqOf(device, conversationId, body) !== undefined);
  return seqOf(device, conversationId, body)!;
}

/** What the annotations of a message look like, without the fields that differ per device. */
const annotations = (m: MessageView | undefined) =>
  m && {
    seq: m.seq,
    body: m.body,
    deleted: m.deleted,
    replyTo: m.replyTo,
    mentions: m.mentions,
    mentionsMe: m.mentionsMe,
    reactions: m.reactions,
    pinned: m.pinned,
  };

/** A new device of the user that loads the whole history: what a read from the server shows. */
async function freshRead(user: string, conversationId: string) {
  const device = await live(user);
  await until(() => device.state.conversation(conversationId) !== undefined);
  while (await device.state.loadOlder(conversationId)) {}
  return device;
}

/** The server's own summary for the user (GET /v1/conversations/:id). */
async function serverSummary(device: LiveDevice, conversationId: string): Promise<ConversationSummary> {
  return (await device.http.conversation(conversationId)).conversation;
}

const mentionCounters = (s: ConversationSummary | undefined) =>
  s && { mentions: s.mentions, read_seq: s.read_seq, last_seq: s.last_seq };

describe('ChatState folds replies, mentions, reactions and pins', () => {
  it('shows the quote, mentions, reactions and pin on each message, live as a fresh read shows them', async () => {
    const [alice, bob, carol] = [uid('alice'), uid('bob'), uid('carol')];
    const group = await createGroup(server.httpUrl, alice, [bob, carol], 'club');
    const [a, b, c] = [await live(alice), await live(bob), await live(carol)];

    const parent = await sent(a, group, 'parent text');
    const reply = await b.client.send(group, 'a reply', { replyTo: parent, mentions: [alice] });
    // Still in the outbox, the reply already quotes the parent held here.
    expect(b.state.messages(group).at(-1)).toMatchObject({
      seq: null,
      replyTo: { seq: parent, sender_id: alice, body: 'parent text', deleted: false },
      mentions: [alice],
    });
    await until(() => seqOf(b, group, 'a reply') !== undefined);
    const replySeq = seqOf(b, group, 'a reply')!;
    const everyone = await sent(c, group, 'hello all', { mentions: ['@all'] });
    await until(() => [a, b, c].every((x) => x.state.message(group, everyone) !== undefined));

    for (const x of [a, b, c]) {
      expect(x.state.message(group, replySeq), x.user).toMatchObject({
        clientMsgId: reply.clientMsgId,
        replyTo: { seq: parent, sender_id: alice, body: 'parent text', deleted: false },
        mentions: [alice],
        mentionsMe: x === a,
      });
      expect(x.state.message(group, everyone)?.mentionsMe, x.user).toBe(x !== c);
      if (x !== c) expect(x.state.message(group, everyone)?.mentions, x.user).toEqual(['@all']);
      expect(x.state.message(group, parent)).toMatchObject({
        replyTo: null,
        mentions: [],
        mentionsMe: false,
      });
    }

    const thumbB = await b.client.react(group, parent, '👍', 'add');
    const thumbC = await c.client.react(group, parent, '👍', 'add');
    const heartA = await a.client.react(group, parent, '❤️', 'add');
    expect([thumbB.event?.data?.count, thumbC.event?.data?.count, heartA.event?.data?.count]).toEqual([
      1, 2, 1,
    ]);
    const shown = (x: LiveDevice) => x.state.message(group, parent)?.reactions;
    await until(() => [a, b, c].every((x) => shown(x)?.length === 2 && shown(x)![0]!.count === 2));
    expect(shown(a)).toEqual([
      { emoji: '👍', count: 2, me: false, seq: thumbC.seq },
      { emoji: '❤️', count: 1, me: true, seq: heartA.seq },
    ]);
    expect(shown(b)!.map((r) => r.me)).toEqual([true, false]);
    expect(shown(c)!.map((r) => r.me)).toEqual([true, false]);

    const pin = await a.client.pin(group, parent, 'pin');
    await until(() => [a, b, c].every((x) => x.state.message(group, parent)?.pinned === true));
    for (const x of [a, b, c]) {
      expect(x.state.conversation(group)?.pinned).toEqual([parent]);
      expect(x.state.pinnedMessages(group).map((m) => m.seq)).toEqual([parent]);
      expect(x.state.message(group, replySeq)?.pinned).toBe(false);
      const notice = x.state.timeline(group).find((i) => i.type === 'notice' && i.notice.seq === pin.seq);
      expect(notice).toMatchObject({ notice: { kind: 'pinned', actorId: alice, refSeq: parent } });
    }

    const unpin = await a.client.pin(group, parent, 'unpin');
    await until(() => [a, b, c].every((x) => x.state.message(group, parent)?.pinned === false));
    for (const x of [a, b, c]) {
      expect(x.state.conversation(group)?.pinned).toEqual([]);
      expect(x.state.pinnedMessages(group)).toEqual([]);
      const notice = x.state.timeline(group).find((i) => i.type === 'notice' && i.notice.seq === unpin.seq);
      expect(notice).toMatchObject({ notice: { kind: 'unpinned', actorId: alice, refSeq: parent } });
    }
    // A new device of Bob's reads it all from the server: every message looks the same.
    const fresh = await freshRead(bob, group);
    expect(fresh.state.messages(group).map(annotations)).toEqual(b.state.messages(group).map(annotations));
  });

  it('your own message keeps the mentions it was sent with once acked, as the other members see it', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const group = await createGroup(server.httpUrl, alice, [bob], 'club');
    const [a, b] = [await live(alice), await live(bob)];
    const seq = await sent(a, group, 'hey you two', { mentions: [bob, '@all'] });
    await until(() => b.state.message(group, seq) !== undefined);
    expect(b.state.message(group, seq)?.mentions).toEqual([bob, '@all']);
    expect(a.state.message(group, seq)).toMatchObject({ mentions: [bob, '@all'], mentionsMe: false });
  });

  it("a delete wipes the quotes of the replies held, forgets the message's reactions and unpins it", async () => {
    const [alice, bob, carol] = [uid('alice'), uid('bob'), uid('carol')];
    const group = await createGroup(server.httpUrl, alice, [bob, carol], 'club');
    const [a, b, c] = [await live(alice), await live(bob), await live(carol)];
    const parent = await sent(a, group, 'soon gone');
    const other = await sent(a, group, 'stays');
    const first = await sent(b, group, 'first reply', { replyTo: parent });
    const second = await sent(c, group, 'second reply', { replyTo: parent });
    const unrelated = await sent(c, group, 'other reply', { replyTo: other });
    await b.client.react(group, parent, '👍', 'add');
    await b.client.react(group, other, '👍', 'add');
    await a.client.pin(group, parent);
    await a.client.pin(group, other);
    await until(() =>
      [a, b, c].every(
        (x) =>
          x.state.message(group, unrelated) !== undefined &&
          x.state.conversation(group)?.pinned.length === 2 &&
          x.state.message(group, other)?.reactions.length === 1,
      ),
    );
    expect(c.state.message(group, parent)?.reactions).toHaveLength(1);

    await a.client.deleteMessage(group, parent);
    await until(() => [a, b, c].every((x) => x.state.message(group, parent)?.deleted === true));
    const wiped = { seq: parent, sender_id: alice, body: null, deleted: true };
    for (const x of [a, b, c]) {
      expect(x.state.message(group, parent), x.user).toMatchObject({
        body: null,
        reactions: [],
        pinned: false,
      });
      expect(x.state.message(group, first)?.replyTo, x.user).toEqual(wiped);
      expect(x.state.message(group, second)?.replyTo, x.user).toEqual(wiped);
      expect(x.state.message(group, unrelated)?.replyTo?.body, x.user).toBe('stays');
      expect(x.state.message(group, other)?.reactions, x.user).toHaveLength(1);
      expect(x.state.conversation(group)?.pinned, x.user).toEqual([other]);
      expect(x.state.pinnedMessages(group).map((m) => m.seq)).toEqual([other]);
    }
    const fresh = await freshRead(bob, group);
    expect(fresh.state.messages(group).map(annotations)).toEqual(b.state.messages(group).map(annotations));
    expect(fresh.state.conversation(group)?.pinned).toEqual([other]);
  });

  it('counts mentions of you in the summary as the server does: live, partly read, read, deleted, own', async () => {
    const [alice, bob, carol] = [uid('alice'), uid('bob'), uid('carol')];
    const group = await createGroup(server.httpUrl, alice, [bob, carol], 'club');
    const [a, b, c] = [await live(alice), await live(bob), await live(carol)];
    const summary = () => b.state.conversation(group);
    /** Bob's summary once it shows `mentions`, next to the server's at that moment. */
    const agreed = async (mentions: number) => {
      await until(() => summary()?.mentions === mentions);
      expect(mentionCounters(summary())).toEqual(mentionCounters(await serverSummary(b, group)));
    };

    const byId = await sent(a, group, 'bob, look', { mentions: [bob] });
    await agreed(1);
    await sent(c, group, 'everyone, look', { mentions: ['@all'] });
    await sent(a, group, 'carol only', { mentions: [carol] });
    await sent(c, group, 'no one');
    await until(() => summary()?.unread === 4);
    await agreed(2);

    // Read up to the first: of those after it, one mentions Bob (by @all).
    b.client.markRead(group, byId);
    await until(() => summary()?.read_seq === byId);
    expect(summary()?.unread).toBe(3);
    await agreed(1);

    // The @all message is deleted: it no longer counts.
    await c.client.deleteMessage(group, seqOf(c, group, 'everyone, look')!);
    await agreed(0);

    await sent(a, group, 'bob again', { mentions: [bob, carol] });
    await sent(c, group, 'here?', { mentions: ['@here'] });
    await agreed(2);
    b.state.markRead(group);
    await until(() => summary()?.read_seq === summary()?.last_seq);
    await agreed(0);

    // Bob's own mentions are not his to be told of; Alice is, by id and by @all.
    const own = await sent(b, group, 'alice, all', { mentions: [alice, '@all'] });
    await until(() => a.state.message(group, own) !== undefined);
    expect(b.state.message(group, own)?.mentionsMe).toBe(false);
    expect(a.state.message(group, own)?.mentionsMe).toBe(true);
    await agreed(0);
    await until(() => a.state.conversation(group)?.last_seq === summary()?.last_seq);
    expect(mentionCounters(a.state.conversation(group))).toEqual(
      mentionCounters(await serverSummary(a, group)),
    );

    // A mention, then Bob writes: writing reads everything before it.
    await sent(a, group, 'bob?', { mentions: [bob] });
    await agreed(1);
    await sent(b, group, 'yes');
    await agreed(0);
  });

  it('a deleted unread message leaves the unread count where the server has it', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await createDirect(server.httpUrl, alice, bob);
    const [a, b] = [await live(alice), await live(bob)];
    await sent(a, conv, 'one');
    const two = await sent(a, conv, 'two', { mentions: [bob] });
    await until(() => b.state.conversation(conv)?.unread === 2);
    await a.client.deleteMessage(conv, two);
    await until(() => b.state.message(conv, two)?.deleted === true);
    const truth = await serverSummary(b, conv);
    expect([truth.unread, truth.mentions]).toEqual([1, 0]);
    expect(b.state.conversation(conv)).toMatchObject({ unread: truth.unread, mentions: truth.mentions });
  });

  it('keeps summary.pinned most recent first through live pins, re-pins, unpins and deletes', async () => {
    const [alice, bob, carol] = [uid('alice'), uid('bob'), uid('carol')];
    const group = await createGroup(server.httpUrl, alice, [bob, carol], 'club');
    const [a, b] = [await live(alice), await live(bob)];
    const m1 = await sent(a, group, 'one');
    const m2 = await sent(a, group, 'two');
    const m3 = await sent(a, group, 'three');
    const pinned = () => b.state.conversation(group)?.pinned;
    const agreed = async (expected: number[]) => {
      await until(() => JSON.stringify(pinned()) === JSON.stringify(expected));
      expect(b.state.pinnedMessages(group).map((m) => m.seq)).toEqual(expected);
      expect(
        b.state
          .messages(group)
          .filter((m) => m.pinned)
          .map((m) => m.seq)
          .sort(),
      ).toEqual([...expected].sort());
      expect((await serverSummary(b, group)).pinned).toEqual(expected);
    };

    for (const seq of [m1, m2, m3]) await a.client.pin(group, seq);
    await agreed([m3, m2, m1]);
    await a.client.pin(group, m1);
    await agreed([m1, m3, m2]);
    await a.client.pin(group, m3, 'unpin');
    await agreed([m1, m2]);
    // A redundant unpin is an event too, and changes nothing.
    await a.client.pin(group, m3, 'unpin');
    await a.client.deleteMessage(group, m2);
    await agreed([m1]);
    // In a group only admins and owners pin.
    await expect(b.client.pin(group, m3)).rejects.toMatchObject({ code: 'forbidden' });

    const notices = b.state
      .timeline(group)
      .flatMap((i) => (i.type === 'notice' && i.notice.kind !== 'created' ? [i.notice] : []));
    expect(notices.map((n) => [n.kind, n.refSeq, n.actorId])).toEqual([
      ['pinned', m1, alice],
      ['pinned', m2, alice],
      ['pinned', m3, alice],
      ['pinned', m1, alice],
      ['unpinned', m3, alice],
      ['unpinned', m3, alice],
    ]);

    // A device that holds none of the messages knows what is pinned, and shows them once loaded.
    const fresh = await live(bob);
    await until(() => fresh.state.conversation(group) !== undefined);
    expect(fresh.state.conversation(group)?.pinned).toEqual([m1]);
    expect(fresh.state.pinnedMessages(group)).toEqual([]);
    while (await fresh.state.loadOlder(group)) {}
    expect(fresh.state.pinnedMessages(group).map((m) => [m.seq, m.body, m.pinned])).toEqual([
      [m1, 'one', true],
    ]);

    // In a direct conversation either member pins.
    const direct = await createDirect(server.httpUrl, alice, carol);
    const c = await live(carol);
    const hi = await sent(a, direct, 'hi');
    await c.client.pin(direct, hi);
    await until(() => a.state.message(direct, hi)?.pinned === true);
  });

  it('toggleReaction adds or removes by what the state holds, across your devices', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await createDirect(server.httpUrl, alice, bob);
    const [a1, a2, b] = [await live(alice), await live(alice), await live(bob)];
    const target = await sent(b, conv, 'react to me');
    await until(() => [a1, a2].every((x) => x.state.message(conv, target) !== undefined));
    const thumbs = (x: LiveDevice) =>
      x.state
        .message(conv, target)
        ?.reactions.filter((r) => r.emoji === '👍')
        .map((r) => `${r.count}${r.me ? ' me' : ''}`)
        .join() ?? '';

    await a1.state.toggleReaction(conv, target, '👍');
    expect(thumbs(a1)).toBe('1 me');
    await until(() => thumbs(b) === '1' && thumbs(a2) === '1 me');
    await b.state.toggleReaction(conv, target, '👍');
    await until(() => thumbs(a1) === '2 me' && thumbs(a2) === '2 me' && thumbs(b) === '2 me');
    // Alice's other device learned of her reaction live: its toggle removes it.
    await a2.state.toggleReaction(conv, target, '👍');
    await until(() => thumbs(a1) === '1' && thumbs(b) === '1 me');
    expect(thumbs(a2)).toBe('1');
    await a1.state.toggleReaction(conv, target, '👍');
    await until(() => thumbs(a2) === '2 me' && thumbs(b) === '2 me');
    const fresh = await freshRead(alice, conv);
    expect(thumbs(fresh)).toBe('2 me');
  });

  it("a reaction moves neither the conversation's place in the list nor its unread or preview", async () => {
    const [alice, bob, carol] = [uid('alice'), uid('bob'), uid('carol')];
    const older = await createDirect(server.httpUrl, alice, bob);
    const newer = await createDirect(server.httpUrl, alice, carol);
    const [a, b] = [await live(alice), await live(bob)];
    const target = await sent(b, older, 'older news');
    await until(() => a.state.message(older, target) !== undefined);
    await sent(a, newer, 'newer news');
    const order = () => a.state.conversations().map((s) => s.conversation_id);
    expect(order().slice(0, 2)).toEqual([newer, older]);
    const before = a.state.conversation(older)!;
    const bobsBefore = b.state.conversation(older)!;

    const reaction = await b.client.react(older, target, '🎉', 'add');
    await until(() => a.state.message(older, target)?.reactions.length === 1);
    const after = a.state.conversation(older)!;
    expect(after.last_seq).toBe(reaction.seq);
    expect(after.updated_at).toBe(before.updated_at);
    expect([after.unread, after.last_message?.seq]).toEqual([before.unread, target]);
    expect(order().slice(0, 2)).toEqual([newer, older]);
    expect(b.state.conversation(older)?.updated_at).toBe(bobsBefore.updated_at);
    expect(b.state.conversation(older)?.last_seq).toBe(reaction.seq);
    const truth = await serverSummary(a, older);
    expect([after.updated_at, after.unread, after.last_seq]).toEqual([
      truth.updated_at,
      truth.unread,
      truth.last_seq,
    ]);
  });

  it('a deleted message shows no reactions, even when history loaded after the delete holds them', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await createDirect(server.httpUrl, alice, bob);
    const [a, b] = [await live(alice), await live(bob)];
    const target = await sent(a, conv, 'to be deleted');
    await b.client.react(conv, target, '👍', 'add');
    const later = await sent(b, conv, 'later');
    // A new device of Alice's holds nothing yet when the delete comes live.
    const fresh = await live(alice);
    await until(() => fresh.state.conversation(conv)?.last_seq === a.state.conversation(conv)?.last_seq);
    await a.client.deleteMessage(conv, target);
    await until(() => fresh.state.conversation(conv)!.last_seq > later);
    // Scrolling up: the newest page (with the delete), then the older one (the message, its reaction).
    await fresh.state.loadOlder(conv, 2);
    expect(fresh.state.message(conv, later)).toBeDefined();
    await fresh.state.loadOlder(conv, 2);
    expect(fresh.state.message(conv, target)).toMatchObject({ deleted: true, body: null, reactions: [] });
  });

  it('orders live reactions as a read does, also when an emoji comes back after falling to 0', async () => {
    const [alice, bob, carol] = [uid('alice'), uid('bob'), uid('carol')];
    const group = await createGroup(server.httpUrl, alice, [bob, carol], 'club');
    const [a, b, c] = [await live(alice), await live(bob), await live(carol)];
    const target = await sent(a, group, 'react');
    await b.client.react(group, target, '👍', 'add');
    await c.client.react(group, target, '❤️', 'add');
    await b.client.react(group, target, '👍', 'remove');
    const last = await b.client.react(group, target, '👍', 'add');
    await until(() => a.state.conversation(group)?.last_seq === last.seq);
    const fresh = await freshRead(alice, group);
    const emoji = (x: LiveDevice) => x.state.message(group, target)?.reactions.map((r) => r.emoji);
    expect(emoji(fresh)).toEqual(['❤️', '👍']);
    expect(a.state.message(group, target)?.reactions).toEqual(fresh.state.message(group, target)?.reactions);
  });
});

describe('ChatState folds reactions whichever comes first, a read or a push (scripted server)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps your earlier reaction from a history page read before a live reaction to the message', async () => {
    const page: ChatEvent[] = [];
    const scripted = scriptedServer({
      override: (f) => {
        if (f.type === 'sync') return syncAnswer(f, [summaryOf('c', 40)]);
        if (f.type === 'history')
          return { type: 'events', re: f.id ?? '', conversation_id: 'c', events: page, has_more: false };
        // Left unanswered: what matters is what it asks for.
        if (f.type === 'react') return null;
        return undefined;
      },
    });
    const client = new NatterClient({ url: 'ws://test/ws', token: 'tok', webSocket: scripted.factory });
    const state = new ChatState(client);
    await client.connect();
    scripted.last.accept();
    await vi.advanceTimersByTimeAsync(0);
    // Live: the peer adds ❤️ to message 10 (two now), which this device has not loaded.
    scripted.last.push({ type: 'event', event: reactionEvent(41, 10, 'peer', '❤️', 'add', 2) });
    await vi.advanceTimersByTimeAsync(0);
    // The history page answering the scroll up was read before that: ❤️ once, yours.
    page.push({
      ...messageEvent('c', 10),
      reactions: { as_of: 30, counts: [{ emoji: '❤️', count: 1, me: true, seq: 30 }] },
    });
    await state.loadOlder('c');
    expect(state.message('c', 10)?.reactions).toEqual([{ emoji: '❤️', count: 2, me: true, seq: 41 }]);
    // So toggling takes your reaction off rather than adding it again.
    const toggled = state.toggleReaction('c', 10, '❤️').catch(() => undefined);
    expect(scripted.last.sentOf('react')).toMatchObject([{ target_seq: 10, emoji: '❤️', action: 'remove' }]);
    state.close();
    client.close();
    await toggled;
  });
});

function reactionEvent(
  seq: number,
  target: number,
  sender: string,
  emoji: string,
  action: 'add' | 'remove',
  count: number,
): ChatEvent {
  return {
    ...messageEvent('c', seq, sender),
    kind: 'reaction',
    body: null,
    ref_seq: target,
    data: { emoji, action, count },
  };
}

describe('ChatState lists pins as the server does (scripted server)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('a live pin of a message from before you joined is not listed; one after is', async () => {
    const scripted = scriptedServer({
      override: (f) =>
        f.type === 'sync' ? syncAnswer(f, [{ ...summaryOf('c', 20, 'group'), joined_seq: 10 }]) : undefined,
    });
    const client = new NatterClient({ url: 'ws://test/ws', token: 'tok', webSocket: scripted.factory });
    const state = new ChatState(client);
    await client.connect();
    scripted.last.accept();
    await vi.advanceTimersByTimeAsync(0);
    const pinOf = (seq: number, target: number): ChatEvent => ({
      ...messageEvent('c', seq, 'peer'),
      kind: 'pinned',
      body: null,
      ref_seq: target,
    });
    scripted.last.push({ type: 'event', event: pinOf(21, 3) });
    scripted.last.push({ type: 'event', event: pinOf(22, 15) });
    await vi.advanceTimersByTimeAsync(0);
    expect(state.conversation('c')?.pinned).toEqual([15]);
    state.close();
    client.close();
  });
});

describe('ChatState counts thread replies once (scripted server)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  /** A root of yours (seq 10) as a history page shows it, with `replies` replies of which `unread` unread. */
  const rootWithThread = (replies: number, readSeq: number, unread: number): ChatEvent => ({
    ...messageEvent('c', 10, 'me'),
    thread: {
      reply_count: replies,
      last_reply_seq: 10 + replies,
      last_reply_at: 0,
      participants: ['peer'],
      following: true,
      read_seq: readSeq,
      unread,
    },
  });
  const replyEvent = (seq: number, threadSeq: number, sender = 'peer'): ChatEvent => ({
    ...messageEvent('c', seq, sender),
    data: { thread: { root_seq: 10, seq: threadSeq } },
  });

  async function deviceWith(
    syncs: Array<(f: Parameters<typeof syncAnswer>[0]) => ReturnType<typeof syncAnswer>>,
  ) {
    const page: ChatEvent[] = [];
    let sync = 0;
    const scripted = scriptedServer({
      override: (f) => {
        if (f.type === 'sync') return syncs[Math.min(sync++, syncs.length - 1)]!(f);
        if (f.type === 'history')
          return { type: 'events', re: f.id ?? '', conversation_id: 'c', events: page, has_more: false };
        if (f.type === 'send') return null;
        return undefined;
      },
    });
    const client = new NatterClient({ url: 'ws://test/ws', token: 'tok', webSocket: scripted.factory });
    const state = new ChatState(client);
    await client.connect();
    scripted.last.accept();
    await vi.advanceTimersByTimeAsync(0);
    return { scripted, client, state, page };
  }

  it('a sync page brings replies its summary already counts: thread_unread is the server’s, not one more', async () => {
    const { scripted, client, state, page } = await deviceWith([
      (f) => syncAnswer(f, [{ ...summaryOf('c', 11), thread_unread: 1 }], { token: 't1' }),
      (f) =>
        syncAnswer(f, [{ ...summaryOf('c', 12), thread_unread: 2 }], {
          events: [replyEvent(12, 2)],
          token: 't2',
        }),
    ]);
    page.push(rootWithThread(1, 0, 1), replyEvent(11, 1));
    await state.loadOlder('c');
    expect(state.conversation('c')?.thread_unread).toBe(1);
    // Offline a while: the reconnect's sync says 2 and brings the reply that made it 2.
    scripted.last.drop();
    await vi.advanceTimersByTimeAsync(1000);
    scripted.last.accept();
    await vi.advanceTimersByTimeAsync(0);
    expect(scripted.sockets).toHaveLength(2);
    expect(state.thread('c', 10)).toMatchObject({ reply_count: 2, unread: 2 });
    expect(state.conversation('c')?.thread_unread).toBe(2);
    // A live reply after that is news: one more.
    scripted.last.push({ type: 'event', event: replyEvent(13, 3) });
    await vi.advanceTimersByTimeAsync(0);
    expect(state.conversation('c')?.thread_unread).toBe(3);
    state.close();
    client.close();
  });
});
