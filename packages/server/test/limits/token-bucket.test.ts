import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { TokenBucket } from '../../src/limits/token-bucket.js';
import { ManualClock } from '../helpers/manual-clock.js';

describe('TokenBucket', () => {
  it('lets a burst through at once, then refuses with the time until the next token', () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(4, 3, clock);
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(bucket.take()).toEqual({ ok: false, retryAfterMs: 250 });
  });

  it('refills at its rate: a token after 1/rate, none before', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(4, 1, clock);
    bucket.take();
    await clock.advance(249);
    expect(bucket.take().ok).toBe(false);
    await clock.advance(1);
    expect(bucket.take()).toEqual({ ok: true });
    expect(bucket.take()).toEqual({ ok: false, retryAfterMs: 250 });
  });

  it('waiting the retry-after it answers is enough despite floating-point refills', async () => {
    // Found by the property below: empty, advised 1 ms, and 0.9999999999999999 of a token after it.
    const clock = new ManualClock(0);
    const bucket = new TokenBucket(999.9999999999999, 1, clock);
    bucket.take();
    const refused = bucket.take();
    expect(refused).toEqual({ ok: false, retryAfterMs: 1 });
    await clock.advance(1);
    expect(bucket.take()).toEqual({ ok: true });
  });

  it('waiting the retry-after it answers is always enough, and at most 1 ms more than needed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.double({ min: 0.001, max: 1000, noNaN: true }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 10_000 }),
        async (perSecond, burst, idleMs) => {
          const clock = new ManualClock(0);
          const bucket = new TokenBucket(perSecond, burst, clock);
          let refused = bucket.take();
          while (refused.ok) refused = bucket.take();
          await clock.advance(Math.min(idleMs, refused.retryAfterMs - 1));
          const answer = bucket.take();
          if (answer.ok) return; // the idle time alone refilled a token
          // Rounding up to whole ms may overshoot by up to 1 ms: 2 ms early is always too early.
          if (answer.retryAfterMs >= 2) {
            await clock.advance(answer.retryAfterMs - 2);
            expect(bucket.take().ok).toBe(false);
            await clock.advance(2);
          } else {
            await clock.advance(answer.retryAfterMs);
          }
          expect(bucket.take()).toEqual({ ok: true });
        },
      ),
    );
  });

  it('counts a partial refill in the retry-after', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(2, 1, clock);
    bucket.take();
    await clock.advance(100);
    expect(bucket.take()).toEqual({ ok: false, retryAfterMs: 400 });
  });

  it('a refused take costs nothing', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(10, 1, clock);
    bucket.take();
    for (let i = 0; i < 5; i++) expect(bucket.take().ok).toBe(false);
    await clock.advance(100);
    expect(bucket.take()).toEqual({ ok: true });
  });

  it('never holds more than its burst, however long it was idle', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(100, 2, clock);
    await clock.advance(60_000);
    expect([bucket.take(), bucket.take(), bucket.take()].map((t) => t.ok)).toEqual([true, true, false]);
  });

  it('is full when new and again once refilled completely', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(2, 2, clock);
    expect(bucket.isFull()).toBe(true);
    bucket.take();
    expect(bucket.isFull()).toBe(false);
    await clock.advance(499);
    expect(bucket.isFull()).toBe(false);
    await clock.advance(1);
    expect(bucket.isFull()).toBe(true);
  });

  it('slow rates (per minute, per hour) answer in whole milliseconds', () => {
    const clock = new ManualClock();
    const perMinute = new TokenBucket(1 / 60, 1, clock);
    perMinute.take();
    expect(perMinute.take()).toEqual({ ok: false, retryAfterMs: 60_000 });
    const perHour = new TokenBucket(5 / 3600, 5, clock);
    for (let i = 0; i < 5; i++) perHour.take();
    expect(perHour.take()).toEqual({ ok: false, retryAfterMs: 720_000 });
  });

  it('a clock set back neither refills nor takes tokens away', () => {
    let now = 1_000_000;
    const bucket = new TokenBucket(1, 2, { ...systemClock, now: () => now });
    bucket.take();
    now -= 10_000;
    expect(bucket.take()).toEqual({ ok: true });
    expect(bucket.take()).toEqual({ ok: false, retryAfterMs: 1000 });
    now += 1000;
    expect(bucket.take()).toEqual({ ok: true });
  });
});
