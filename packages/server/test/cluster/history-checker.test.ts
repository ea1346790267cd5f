import type { ChatEvent } from '@natter/protocol';
import { describe, expect, it } from 'vitest';
import { liveStreamViolations, logViolations, orderedStreamViolations } from './history-checker.js';

/** The checker the cluster tests trust must itself catch each kind of fault. */

function message(seq: number, clientMsgId = `m${seq}`): ChatEvent {
  return {
    conversation_id: 'c',
    seq,
    kind: 'message',
    sender_id: 'u',
    device_id: null,
    client_msg_id: clientMsgId,
    body: `body ${seq}`,
    ref_seq: null,
    data: null,
    deleted: false,
    created_at: 0,
  };
}

const history = [1, 2, 3, 4].map((seq) => message(seq));
const acked = new Map(history.map((e) => [e.client_msg_id!, e.seq]));

describe('history checker', () => {
  it('accepts a faithful run', () => {
    expect(logViolations(history, acked)).toEqual([]);
    expect(orderedStreamViolations('r', history.slice(1), history)).toEqual([]);
    expect(liveStreamViolations('r', [history[2]!, history[1]!], history, (e) => `n${e.seq % 2}`)).toEqual(
      [],
    );
  });

  it('catches a gap, a duplicate row, a lost ack and a stored message nobody acked', () => {
    expect(logViolations([history[0]!, history[2]!], new Map([['m1', 1]]))).not.toEqual([]);
    expect(logViolations([...history, { ...message(5), client_msg_id: 'm1' }], acked)).not.toEqual([]);
    expect(logViolations(history.slice(0, 3), acked)).not.toEqual([]);
    expect(logViolations(history, new Map([...acked].slice(1)))).not.toEqual([]);
    expect(logViolations(history, new Map([...acked, ['m4', 3]]))).not.toEqual([]);
  });

  it('catches an ordered stream that skips, repeats, reorders, stops early or differs from the log', () => {
    const [a, b, c, d] = history as [ChatEvent, ChatEvent, ChatEvent, ChatEvent];
    for (const stream of [
      [a, c, d],
      [a, b, b, c, d],
      [a, c, b, d],
      [a, b, c],
      [a, b, c, { ...d, body: 'x' }],
      [],
    ]) {
      expect(orderedStreamViolations('r', stream, history)).not.toEqual([]);
    }
  });

  it('catches a live stream with a repeat, a reorder within one origin, or an altered event', () => {
    const [a, b] = history as [ChatEvent, ChatEvent];
    expect(liveStreamViolations('r', [a, b, a], history, () => 'n')).not.toEqual([]);
    expect(liveStreamViolations('r', [b, a], history, () => 'n')).not.toEqual([]);
    expect(liveStreamViolations('r', [{ ...a, body: 'x' }], history, () => 'n')).not.toEqual([]);
  });
});
