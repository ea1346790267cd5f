import { describe, expect, it } from 'vitest';
import { KeyedRateLimit } from '../../src/limits/keyed-rate-limit.js';
import { ManualClock } from '../helpers/manual-clock.js';

function refusal(take: () => void): unknown {
  try {
    take();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('KeyedRateLimit', () => {
  it('gives each key its own bucket', () => {
    const limit = new KeyedRateLimit(1, 2, { clock: new ManualClock() });
    limit.take('ann');
    limit.take('ann');
    expect(refusal(() => limit.take('ann'))).toMatchObject({ code: 'rate_limited' });
    expect(refusal(() => limit.take('bob'))).toBeUndefined();
  });

  it('refuses with a retryable rate_limited carrying the time until the next token', async () => {
    const clock = new ManualClock();
    const limit = new KeyedRateLimit(5, 1, { clock });
    limit.take('ann');
    expect(refusal(() => limit.take('ann'))).toMatchObject({
      code: 'rate_limited',
      retryable: true,
      retryAfterMs: 200,
    });
    await clock.advance(200);
    expect(refusal(() => limit.take('ann'))).toBeUndefined();
  });

  it('past sweepAbove keys, a new key forgets the buckets that have refilled', async () => {
    const clock = new ManualClock();
    const limit = new KeyedRateLimit(10, 1, { sweepAbove: 2, clock });
    limit.take('a');
    limit.take('b');
    expect(limit.size).toBe(2);
    await clock.advance(100); // both refilled
    limit.take('c');
    expect(limit.size).toBe(1);
  });

  it('a sweep keeps every bucket still refilling, so no busy key gets a fresh burst', async () => {
    const clock = new ManualClock();
    const limit = new KeyedRateLimit(10, 1, { sweepAbove: 2, clock });
    limit.take('busy');
    limit.take('idle');
    await clock.advance(50); // half refilled
    limit.take('new');
    expect(limit.size).toBe(3);
    expect(refusal(() => limit.take('busy'))).toMatchObject({ code: 'rate_limited', retryAfterMs: 50 });
  });

  it('below sweepAbove keys, nothing is forgotten', async () => {
    const clock = new ManualClock();
    const limit = new KeyedRateLimit(10, 1, { sweepAbove: 3, clock });
    limit.take('a');
    await clock.advance(1000);
    limit.take('b');
    limit.take('c');
    expect(limit.size).toBe(3);
  });
});
