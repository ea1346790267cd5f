import { type ChatEvent, NatterError } from '@natter/protocol';
import { expect } from 'vitest';

/** What the store rules' tests share: the error a rule throws, and a stored event to feed one. */

/** The NatterError `action` throws; fails the test if it throws something else or nothing. */
export function thrown(action: () => void): NatterError {
  try {
    action();
  } catch (e) {
    expect(e).toBeInstanceOf(NatterError);
    return e as NatterError;
  }
  throw new Error('expected a NatterError, nothing was thrown');
}

/** A plain message by u_alice in c1 at `seq`, with `fields` over it. */
export function event(seq: number, fields: Partial<ChatEvent> = {}): ChatEvent {
  return {
    conversation_id: 'c1',
    seq,
    kind: 'message',
    sender_id: 'u_alice',
    device_id: null,
    client_msg_id: `m${seq}`,
    body: `body ${seq}`,
    ref_seq: null,
    data: null,
    deleted: false,
    created_at: 1_000 + seq,
    ...fields,
  };
}
