import { NatterError } from '@natter/protocol';
import { type Clock, systemClock } from '../clock.js';
import { TokenBucket } from './token-bucket.js';

/**
 * A token bucket per key (a user, an IP and username). Buckets that have refilled completely carry
 * no information and are forgotten, so the map holds only keys that were busy recently.
 */
export class KeyedRateLimit {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly sweepAbove: number;
  private readonly clock: Clock;

  /** Past `sweepAbove` keys, a new key first forgets the buckets that have refilled. */
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    options: { sweepAbove?: number; clock?: Clock } = {},
  ) {
    this.sweepAbove = options.sweepAbove ?? 10_000;
    this.clock = options.clock ?? systemClock;
  }

  /** How many keys hold a bucket: the ones busy since the last sweep. */
  get size(): number {
    return this.buckets.size;
  }

  /** Takes a token for `key`, or throws `rate_limited` with the time until the next one. */
  take(key: string): void {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.sweepAbove) this.sweep();
      bucket = new TokenBucket(this.perSecond, this.burst, this.clock);
      this.buckets.set(key, bucket);
    }
    const taken = bucket.take();
    if (!taken.ok) throw new NatterError('rate_limited', undefined, { retryAfterMs: taken.retryAfterMs });
  }

  private sweep(): void {
    for (const [key, bucket] of this.buckets) if (bucket.isFull()) this.buckets.delete(key);
  }
}
