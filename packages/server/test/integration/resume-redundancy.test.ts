import type { ChatEvent } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, TestClient } from '../helpers/client.js';
import { createGroup, startTestServer, type TestServer, uid, until } from '../helpers/server.js';
import { type ResumeResult, resume } from '../helpers/sync.js';

const CONVERSATIONS = 20;
const LIVE_PER_CONVERSATION = 30;
const MISSED_CONVERSATIONS = 8;
const MISSED_PER_CONVERSATION = 5;

/**
 * A resume after a drop should bring what the client missed, not what it already got live. The
 * same drop is resumed twice from the same token: once as before `held` existed, once reporting
 * what the device holds. Both must deliver every missed event; only the second may skip the rest.
 */
describe('sync: a resume after a drop re-sends nothing the client holds (held)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      syncEventsPerConversation: 20,
      sendsPerSecond: 10_000,
      sendBurst: 10_000,
      framesPerSecond: 10_000,
      frameBurst: 10_000,
    });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('counts redundant events per resume without and with held', async () => {
    const reader = uid('reader');
    const writer = uid('writer');
    const conversations: string[] = [];
    for (let i = 0; i < CONVERSATIONS; i++)
      conversations.push(await createGroup(server.httpUrl, writer, [reader], `c${i}`));
    const author = await TestClient.open(server.wsUrl, { user: writer });
    const device = await TestClient.open(server.wsUrl, { user: reader });
    const { token } = await resume(device, undefined);
    const listed = await resume(device, token);

    // Live: every message reaches the device as a push.
    for (let round = 0; round < LIVE_PER_CONVERSATION; round++)
      for (const id of conversations) await author.sendOk(id, `live ${round}`);
    const live = () => device.frames.filter((f) => f.type === 'event').length;
    await until(() => live() === CONVERSATIONS * LIVE_PER_CONVERSATION);
    const held = new Map<string, number>();
    for (const frame of device.frames)
      if (frame.type === 'event')
        held.set(
          frame.event.conversation_id,
          Math.max(held.get(frame.event.conversation_id) ?? 0, frame.event.seq),
        );
    device.terminate();

    // Offline: a few conversations move on.
    const missed: ChatEvent[] = [];
    for (const id of conversations.slice(0, MISSED_CONVERSATIONS))
      for (let i = 0; i < MISSED_PER_CONVERSATION; i++) {
        const ack = await author.sendOk(id, `missed ${i}`);
        missed.push({ conversation_id: id, seq: ack.seq } as ChatEvent);
      }

    const redundantIn = (result: ResumeResult) =>
      result.events.filter((e) => e.seq <= (held.get(e.conversation_id) ?? 0)).length;
    const missedIn = (result: ResumeResult) =>
      missed.filter((m) =>
        result.events.some((e) => e.conversation_id === m.conversation_id && e.seq === m.seq),
      ).length;

    const plain = await TestClient.open(server.wsUrl, { user: reader });
    const before = await resume(plain, listed.token);
    const reporting = await TestClient.open(server.wsUrl, { user: reader });
    const heldList = [...held].map(([conversation_id, seq]) => ({ conversation_id, seq }));
    const after = await resume(reporting, listed.token, undefined, heldList);

    const measured = {
      liveEvents: CONVERSATIONS * LIVE_PER_CONVERSATION,
      missedEvents: missed.length,
      withoutHeld: {
        events: before.events.length,
        redundant: redundantIn(before),
        truncated: before.truncatedSeen.size,
        fetches: before.fetches,
      },
      withHeld: {
        events: after.events.length,
        redundant: redundantIn(after),
        truncated: after.truncatedSeen.size,
        fetches: after.fetches,
      },
    };
    console.log(`resume after a drop: ${JSON.stringify(measured)}`);

    // Both resumes bring every missed event; only reporting what is held avoids the rest.
    expect(missedIn(before)).toBe(missed.length);
    expect(missedIn(after)).toBe(missed.length);
    expect(measured.withoutHeld.redundant).toBe(CONVERSATIONS * LIVE_PER_CONVERSATION);
    expect(measured.withHeld.redundant).toBe(0);
    expect(after.events).toHaveLength(missed.length);
    expect(measured.withHeld.truncated).toBe(0);
    expect(after.token).toBe(before.token);
    // The summaries (cursors, unread) are the same either way.
    expect([...after.summaries.keys()].sort()).toEqual([...before.summaries.keys()].sort());
    await closeAll([author, plain, reporting]);
  });
});
