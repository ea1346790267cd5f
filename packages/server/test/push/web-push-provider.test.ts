import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webPush from 'web-push';
import { WebPushProvider } from '../../src/push/web-push-provider.js';
import { WebPushEndpoint } from './web-push-endpoint.js';

describe('WebPushProvider against a local RFC 8030/8291 push service', () => {
  let endpoint: WebPushEndpoint;
  const vapid = webPush.generateVAPIDKeys();
  let provider: WebPushProvider;

  beforeAll(async () => {
    endpoint = await WebPushEndpoint.start();
    provider = new WebPushProvider(
      { ...vapid, subject: 'mailto:ops@example.test', ttlSeconds: 3600 },
      endpoint.agent,
    );
  });
  afterAll(() => endpoint.close());

  it('delivers an encrypted, VAPID-signed payload the subscription keys decrypt', async () => {
    const subscription = endpoint.subscribe();
    const outcome = await provider.send(
      { provider: 'webpush', token: subscription.endpoint, keys: subscription.keys },
      { title: 'New message', body: 'New message from Ann', conversationId: 'c1', badge: 3 },
    );
    expect(outcome).toEqual({ status: 'sent' });
    expect(endpoint.received).toHaveLength(1);
    const push = endpoint.received[0]!;
    expect(push.payload).toEqual({
      title: 'New message',
      body: 'New message from Ann',
      conversation_id: 'c1',
      badge: 3,
    });
    expect(push.ttl).toBe('3600');
    expect(push.urgency).toBe('high');
    expect(push.topic).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
    expect(push.vapid).toEqual({
      aud: endpoint.origin,
      sub: 'mailto:ops@example.test',
      publicKey: vapid.publicKey,
    });
  });

  it('says gone for a subscription the service answers 410 or 404 for', async () => {
    const subscription = endpoint.subscribe();
    endpoint.unsubscribe(subscription);
    const target = { provider: 'webpush' as const, token: subscription.endpoint, keys: subscription.keys };
    const message = { title: 't', body: 'b', conversationId: 'c1', badge: 0 };
    expect((await provider.send(target, message)).status).toBe('gone');
    const unknown = { ...target, token: `${endpoint.origin}/push/never` };
    expect((await provider.send(unknown, message)).status).toBe('gone');
  });

  it('says retry when the push service cannot be reached', async () => {
    const subscription = endpoint.subscribe();
    const outcome = await provider.send(
      { provider: 'webpush', token: 'https://127.0.0.1:1/push/1', keys: subscription.keys },
      { title: 't', body: 'b', conversationId: 'c1', badge: 0 },
    );
    expect(outcome.status).toBe('retry');
  });
});
