import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header every webhook delivery carries: `t=<unix ms>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const SIGNATURE_HEADER = 'natter-signature';

/** How far a receiver should let a delivery's timestamp stray from its own clock before refusing it. */
export const DEFAULT_TOLERANCE_MS = 5 * 60_000;

/**
 * Signs a delivery. The timestamp is inside the MAC, so a captured delivery cannot be replayed
 * later with a fresh timestamp; the receiver refuses old ones (`verifyWebhookSignature`).
 */
export function signWebhook(secret: string, timestampMs: number, body: string): string {
  return `t=${timestampMs},v1=${mac(secret, timestampMs, body)}`;
}

export type SignatureCheck = 'valid' | 'malformed' | 'mismatch' | 'too_old';

/**
 * What a receiver does (docs/operations.md has the same in a few lines): recompute the MAC over
 * the raw body, compare in constant time, and refuse a timestamp further than `toleranceMs` from
 * its own clock. Deliveries are at-least-once, so a receiver also drops repeats by delivery id.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string,
  body: string,
  nowMs: number,
  toleranceMs = DEFAULT_TOLERANCE_MS,
): SignatureCheck {
  const match = /^t=(\d{1,16}),v1=([0-9a-f]{64})$/.exec(header);
  if (!match) return 'malformed';
  const timestampMs = Number(match[1]);
  const expected = Buffer.from(mac(secret, timestampMs, body), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'))) return 'mismatch';
  return Math.abs(nowMs - timestampMs) > toleranceMs ? 'too_old' : 'valid';
}

function mac(secret: string, timestampMs: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampMs}.${body}`).digest('hex');
}
