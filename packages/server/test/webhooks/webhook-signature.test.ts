import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhookSignature } from '../../src/webhooks/webhook-signature.js';

describe('webhook signatures', () => {
  const secret = 'whsec_test';
  const body = JSON.stringify({ id: 'd1', type: 'message', data: { seq: 1 } });
  const at = 1_700_000_000_000;

  it('is HMAC-SHA256 over "<timestamp>.<body>", as a receiver in any language computes it', () => {
    const expected = createHmac('sha256', secret).update(`${at}.${body}`).digest('hex');
    expect(signWebhook(secret, at, body)).toBe(`t=${at},v1=${expected}`);
  });

  it('accepts a fresh signature and refuses a changed body, timestamp, secret or an old delivery', () => {
    const header = signWebhook(secret, at, body);
    expect(verifyWebhookSignature(secret, header, body, at + 1000)).toBe('valid');
    expect(verifyWebhookSignature(secret, header, `${body} `, at)).toBe('mismatch');
    expect(verifyWebhookSignature(secret, header.replace(`t=${at}`, `t=${at + 1}`), body, at)).toBe(
      'mismatch',
    );
    expect(verifyWebhookSignature('other', header, body, at)).toBe('mismatch');
    expect(verifyWebhookSignature(secret, header, body, at + 5 * 60_000 + 1)).toBe('too_old');
    expect(verifyWebhookSignature(secret, header, body, at - 5 * 60_000 - 1)).toBe('too_old');
    expect(verifyWebhookSignature(secret, 'v1=abc', body, at)).toBe('malformed');
  });
});
