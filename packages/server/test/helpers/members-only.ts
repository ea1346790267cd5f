import { randomUUID } from 'node:crypto';
import type { ServerFrame } from '@natter/protocol';
import { expect } from 'vitest';
import { expectFrame, type TestClient } from './client.js';
import { createDirect } from './server.js';

/**
 * What a stranger or a removed member may learn of a conversation: nothing. Their errors are compared
 * with those for a conversation that does not exist, and their frames are checked for leaks.
 */

/** A well-formed conversation id that no server has. */
export function unknownConversationId(): string {
  return `c_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
}

/** An error as a client can compare it: everything but the request id it answers. */
export function withoutRe(frame: ServerFrame) {
  const { re: _re, ...rest } = expectFrame(frame, 'error');
  return rest;
}

export interface NothingReachedOptions {
  conv: string;
  /** The seq of the removal: events up to it may have reached a removed member. */
  after: number;
  /** The member who sends each outsider the barrier, and their user id. */
  sender: readonly [TestClient, string];
  /** Each outsider's client and user id. */
  outsiders: ReadonlyArray<readonly [TestClient, string]>;
  /** Where each outsider's frames start to count. */
  marks: ReadonlyMap<TestClient, number>;
}

/**
 * Asserts that no outsider got an event of `conv` after `after`, nor a receipt or typing frame of it,
 * since its mark. A direct message from the sender to each outsider, sent after, is the barrier: by
 * the time it arrives, anything sent before it would have too.
 */
export async function expectNothingReached(httpUrl: string, options: NothingReachedOptions): Promise<void> {
  const [sender, senderId] = options.sender;
  for (const [outsider, user] of options.outsiders) {
    const direct = await createDirect(httpUrl, senderId, user);
    const barrier = await sender.sendOk(direct, 'barrier');
    await outsider.waitFor(
      (f) => f.type === 'event' && f.event.conversation_id === direct && f.event.seq === barrier.seq,
    );
    const leaked = outsider.frames
      .slice(options.marks.get(outsider))
      .filter(
        (f) =>
          (f.type === 'event' && f.event.conversation_id === options.conv && f.event.seq > options.after) ||
          ((f.type === 'receipt' || f.type === 'typing') && f.conversation_id === options.conv),
      );
    expect(leaked).toEqual([]);
  }
}
