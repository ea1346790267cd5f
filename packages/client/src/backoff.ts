/**
 * Reconnect delays: exponential from `baseMs` to `capMs` with full jitter (a uniformly random delay
 * up to the exponential bound), so that clients cut off together do not return together.
 */
export function backoffDelay(attempt: number, baseMs = 1000, capMs = 30_000, random = Math.random): number {
  const bound = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * bound);
}

/**
 * Retry delays while a server restarts (after its `reconnect` frame or a 1012 close): uniformly
 * random in [minMs, maxMs), so its clients return within about maxMs of it being back, spread out.
 */
export function restartRetryDelay(minMs = 250, maxMs = 2000, random = Math.random): number {
  return Math.floor(minMs + random() * (maxMs - minMs));
}
