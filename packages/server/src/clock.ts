/** A scheduled callback. Cancelling it after it fired, or twice, does nothing. */
export interface Timer {
  cancel(): void;
}

/**
 * Time, for everything whose behaviour depends on it: heartbeats, auth and token expiry, presence,
 * typing, rate limits. Production uses `systemClock`; tests pass a manual clock and advance it
 * instead of sleeping. Contract:
 * - `now` is milliseconds since the epoch, the same scale as `Date.now()` (it may step backwards
 *   when the system clock is set; callers that measure intervals clamp at zero).
 * - A timer fires no earlier than `ms` after it was set (at most 2^31 - 1 ms, Node's limit); timers
 *   set with the same `ms` fire in the order they were set (nothing more is promised about the
 *   order of timers with different `ms`); `every` fires again `ms` after each firing until
 *   cancelled.
 * - Timers never keep the process alive.
 */
export interface Clock {
  now(): number;
  after(ms: number, fire: () => void): Timer;
  every(ms: number, fire: () => void): Timer;
}

/** The longest timer Node can set (2^31 - 1 ms); longer ones must be clamped or chained. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fire) {
    const timeout = setTimeout(fire, ms).unref();
    return { cancel: () => clearTimeout(timeout) };
  },
  every(ms, fire) {
    const interval = setInterval(fire, ms).unref();
    return { cancel: () => clearInterval(interval) };
  },
};
