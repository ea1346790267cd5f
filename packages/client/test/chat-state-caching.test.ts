import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDirect,
  startTestServer,
  type TestServer,
  uid,
  until,
} from '../../server/test/helpers/server.js';
import { liveDevice } from './live-device.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ typingMinIntervalMs: 0 });
});

afterAll(async () => {
  await server?.dispose();
});

function live(user: string) {
  return liveDevice(server, user);
}

/** An app re-renders only what changed by comparing what ChatState hands out with `===`. */
describe('ChatState hands out the same arrays while nothing changed', () => {
  it("keeps a conversation's arrays until it changes, others' arrays through its changes, and unchanged messages' objects", async () => {
    const [alice, bob, carol] = [uid('alice'), uid('bob'), uid('carol')];
    const withBob = await createDirect(server.httpUrl, alice, bob);
    const withCarol = await createDirect(server.httpUrl, alice, carol);
    const a = await live(alice);
    const b = await live(bob);
    const c = await live(carol);
    await b.client.send(withBob, 'one');
    await b.client.send(withBob, 'two');
    await c.client.send(withCarol, 'hello');
    await until(() => a.state.messages(withBob).length === 2 && a.state.messages(withCarol).length === 1);
    // Alice's own "delivered" receipts come back to her and move her summaries: let them land first.
    const delivered = (id: string) => {
      const summary = a.state.conversation(id);
      return summary !== undefined && summary.delivered_seq === summary.last_seq;
    };
    await until(() => delivered(withBob) && delivered(withCarol));

    // Nothing changed: the very same arrays, call after call.
    const bobMessages = a.state.messages(withBob);
    const bobTimeline = a.state.timeline(withBob);
    const carolMessages = a.state.messages(withCarol);
    const carolTimeline = a.state.timeline(withCarol);
    const list = a.state.conversations();
    expect(a.state.messages(withBob)).toBe(bobMessages);
    expect(a.state.timeline(withBob)).toBe(bobTimeline);
    expect(a.state.typingIn(withBob)).toBe(a.state.typingIn(withBob));
    expect(a.state.conversations()).toBe(list);
    expect(a.state.message(withBob, bobMessages[0]!.seq!)).toBe(bobMessages[0]);

    // A message in one conversation: its arrays are new, with the messages already there the same
    // objects; the other conversation's arrays and version are untouched.
    const carolVersion = a.state.versionOf(withCarol);
    const bobVersion = a.state.versionOf(withBob);
    const listVersion = a.state.listVersion;
    await b.client.send(withBob, 'three');
    await until(() => a.state.messages(withBob).length === 3);
    const afterThree = a.state.messages(withBob);
    expect(afterThree).not.toBe(bobMessages);
    expect(a.state.timeline(withBob)).not.toBe(bobTimeline);
    expect(afterThree[0]).toBe(bobMessages[0]);
    expect(afterThree[1]).toBe(bobMessages[1]);
    expect(a.state.versionOf(withBob)).toBeGreaterThan(bobVersion);
    expect(a.state.versionOf(withCarol)).toBe(carolVersion);
    expect(a.state.messages(withCarol)).toBe(carolMessages);
    expect(a.state.timeline(withCarol)).toBe(carolTimeline);
    expect(a.state.listVersion).toBeGreaterThan(listVersion);
    expect(a.state.conversations()).not.toBe(list);
    expect(a.state.conversations()[0]?.conversation_id).toBe(withBob);

    // A reaction changes its message's object only.
    await b.state.toggleReaction(withBob, afterThree[0]!.seq!, '👍');
    await until(() => a.state.messages(withBob)[0]!.reactions.length === 1);
    const reacted = a.state.messages(withBob);
    expect(reacted).not.toBe(afterThree);
    expect(reacted[0]).not.toBe(afterThree[0]);
    expect(reacted[1]).toBe(afterThree[1]);
    expect(reacted[2]).toBe(afterThree[2]);
    expect(a.state.messages(withCarol)).toBe(carolMessages);

    // Typing changes the conversation (its version, who is typing) but not its messages.
    const typingBefore = a.state.typingIn(withBob);
    const reactedTimeline = a.state.timeline(withBob);
    const beforeTyping = a.state.versionOf(withBob);
    b.client.typing(withBob, 'start');
    await until(() => a.state.typingIn(withBob).length === 1);
    expect(a.state.versionOf(withBob)).toBeGreaterThan(beforeTyping);
    expect(a.state.typingIn(withBob)).not.toBe(typingBefore);
    expect(a.state.messages(withBob)).toBe(reacted);
    expect(a.state.timeline(withBob)).toBe(reactedTimeline);
    for (const user of [a, b, c]) {
      user.state.close();
      user.client.close();
    }
  });

  it("puts a message written offline at the end of a new array, keeping the stored messages' objects", async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await createDirect(server.httpUrl, alice, bob);
    const a = await live(alice);
    await a.client.send(conv, 'first');
    await until(() => a.state.messages(conv)[0]?.seq !== null && a.state.messages(conv).length === 1);
    const before = a.state.messages(conv);
    a.client.close();
    await a.client.send(conv, 'queued');
    const queued = a.state.messages(conv);
    expect(queued).not.toBe(before);
    expect(queued.map((m) => [m.body, m.status])).toEqual([
      [before[0]!.body, before[0]!.status],
      ['queued', 'sending'],
    ]);
    expect(queued[0]).toBe(before[0]);
    expect(a.state.messages(conv)).toBe(queued);
    a.state.close();
  });
});
