import { type Clock, systemClock } from '../clock.js';

/**
 * Tokens this close to a whole count as whole: refills add up in floating point, and a client that
 * waited the retry-after it was given must not be refused again for want of 1e-16 of a token (a
 * bucket of 999.9999999999999 per second, empty, held 0.9999999999999999 after the 1 ms it advised).
 */
const ROUNDING = 1e-9;

/** A token bucket: `burst` tokens, refilled at `perSecond`. */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly clock: Clock = systemClock,
  ) {
    this.tokens = burst;
    this.updatedAt = clock.now();
  }

  /** True when the bucket has refilled completely (forgetting it changes nothing). */
  isFull(): boolean {
    this.refill();
    return this.tokens >= this.burst - ROUNDING;
  }

  /** Takes a token, or returns how many ms until one is available. */
  take(): { ok: true } | { ok: false; retryAfterMs: number } {
    this.refill();
    if (this.tokens >= 1 - ROUNDING) {
      this.tokens = Math.max(0, this.tokens - 1);
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.ceil(((1 - this.tokens) / this.perSecond) * 1000) };
  }

  private refill(): void {
    const now = this.clock.now();
    // Wall-clock time can be set back: that refills nothing, and never takes tokens away.
    const elapsed = Math.max(0, now - this.updatedAt);
    this.tokens = Math.min(this.burst, this.tokens + (elapsed / 1000) * this.perSecond);
    this.updatedAt = now;
  }
}
