import { NatterError } from '@natter/protocol';
import { TokenBucket } from './token-bucket.js';

/**
 * A token bucket per key (a user, an IP and username). Buckets that have refilled completely carry
 * no information and are forgotten, so the map holds only keys that were busy recently.
 */
export class KeyedRateLimit {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly sweepAbove = 10_000,
  ) {}

  /** Takes a token for `key`, or throws `rate_limited` with the time until the next one. */
  take(key: string): void {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.sweepAbove) this.sweep();
      bucket = new TokenBucket(this.perSecond, this.burst);
      this.buckets.set(key, bucket);
    }
    const taken = bucket.take();
    if (!taken.ok) throw new NatterError('rate_limited', undefined, { retryAfterMs: taken.retryAfterMs });
  }

  private sweep(): void {
    for (const [key, bucket] of this.buckets) if (bucket.isFull()) this.buckets.delete(key);
  }
}
