import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConversationLog } from '../src/conversation-log.js';
import { messageEvent } from './scripted-server.js';

const event = (seq: number) => messageEvent('c', seq);

describe('ConversationLog', () => {
  it('releases every seq exactly once and in order, whatever the arrival order and repeats', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 120 }),
        fc.shuffledSubarray(
          Array.from({ length: 40 }, (_, i) => i + 1),
          { minLength: 40, maxLength: 40 },
        ),
        (noise, all) => {
          const log = new ConversationLog();
          const released: number[] = [];
          for (const seq of [...noise, ...all]) for (const e of log.accept(event(seq))) released.push(e.seq);
          expect(released).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
          expect(log.holes()).toEqual([]);
        },
      ),
    );
  });

  it('reports a hole with the seq to fetch after, and starts a new device at the given seq', () => {
    const log = new ConversationLog();
    log.startAt('c', 10);
    expect(log.accept(event(5))).toEqual([]);
    expect(log.accept(event(12))).toEqual([]);
    expect(log.holes()).toEqual([{ conversationId: 'c', afterSeq: 10, missing: 1 }]);
    expect(log.accept(event(11)).map((e) => e.seq)).toEqual([11, 12]);
    expect(log.holes()).toEqual([]);
  });

  it('forgets events that arrived before the start they are behind (a push racing the listing)', () => {
    const log = new ConversationLog();
    expect(log.accept(event(7))).toEqual([]);
    expect(log.accept(event(9))).toEqual([]);
    log.startAt('c', 8);
    expect(log.holes()).toEqual([{ conversationId: 'c', afterSeq: 8, missing: 0 }]);
    expect(log.accept(event(10)).map((e) => e.seq)).toEqual([9, 10]);
    expect(log.holes()).toEqual([]);
  });
});
