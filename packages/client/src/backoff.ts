/**
 * Reconnect delays: exponential from `baseMs` to `capMs` with full jitter (a uniformly random delay
 * up to the exponential bound), so that clients cut off together do not return together.
 */
export function backoffDelay(attempt: number, baseMs = 1000, capMs = 30_000, random = Math.random): number {
  const bound = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * bound);
}
