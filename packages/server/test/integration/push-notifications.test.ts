import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webPush from 'web-push';
import { sendMessage } from '../helpers/chat-requests.js';
import { closeAll, expectAck, TestClient } from '../helpers/client.js';
import {
  api,
  createDirect,
  signToken,
  startTestServer,
  type TestServer,
  uid,
  until,
} from '../helpers/server.js';
import { WebPushEndpoint } from '../push/web-push-endpoint.js';

/**
 * Push over real sockets and a real (local) Web Push service: a member who is offline gets one
 * decrypted, content-free push per conversation with their unread total as the badge; one who is
 * online, or has muted the conversation, gets none.
 */
describe('push notifications', () => {
  let endpoint: WebPushEndpoint;
  let server: TestServer;
  const vapid = webPush.generateVAPIDKeys();

  beforeAll(async () => {
    endpoint = await WebPushEndpoint.start();
    server = await startTestServer(
      {
        pushVapidPublicKey: vapid.publicKey,
        pushVapidPrivateKey: vapid.privateKey,
        pushVapidSubject: 'mailto:ops@example.test',
        pushCoalesceMs: 0,
      },
      undefined,
      { pushAgent: endpoint.agent },
    );
  });
  afterAll(async () => {
    await server?.dispose();
    await endpoint?.close();
  });

  async function subscribedUser(): Promise<{ userId: string; token: string; path: string }> {
    const userId = uid('push');
    const token = await signToken(userId);
    const subscription = endpoint.subscribe();
    const answer = await api(server.httpUrl, 'POST', '/v1/push/devices', {
      token,
      body: { provider: 'webpush', ...subscription },
    });
    expect(answer.status).toBe(204);
    return { userId, token, path: new URL(subscription.endpoint).pathname };
  }

  const pushesTo = (path: string) => endpoint.received.filter((p) => p.path === path);

  it('tells a client the VAPID public key and the providers that are on', async () => {
    const answer = await api(server.httpUrl, 'GET', '/v1/push/config');
    expect(answer.body).toEqual({ vapid_public_key: vapid.publicKey, providers: ['webpush'] });
  });

  it('refuses a registration that is not a subscription, or without a session', async () => {
    const token = await signToken(uid('push'));
    const bad = await api(server.httpUrl, 'POST', '/v1/push/devices', {
      token,
      body: { provider: 'webpush', endpoint: 'http://insecure.example/x', keys: { p256dh: 'x', auth: 'y' } },
    });
    expect(bad.status).toBe(400);
    const off = await api(server.httpUrl, 'POST', '/v1/push/devices', {
      token,
      body: { provider: 'fcm', token: 'abc' },
    });
    expect(off.status).toBe(400);
    const anonymous = await api(server.httpUrl, 'POST', '/v1/push/devices', {
      body: { provider: 'fcm', token: 'abc' },
    });
    expect(anonymous.status).toBe(401);
  });

  it('pushes one content-free wake-up to an offline member, with their unread total as badge', async () => {
    const a = await subscribedUser();
    const b = await subscribedUser();
    const conversation = await createDirect(server.httpUrl, a.userId, b.userId);
    const sender = await TestClient.open(server.wsUrl, { user: a.userId });
    try {
      expectAck(await sendMessage(sender, conversation, 'the secret plan'));
      await until(() => pushesTo(b.path).length === 1);
      expect(pushesTo(b.path)[0]!.payload).toEqual({
        title: 'Natter',
        body: `New message from ${a.userId}`,
        conversation_id: conversation,
        badge: 1,
      });
      expect(JSON.stringify(pushesTo(b.path))).not.toContain('secret');
      expect(pushesTo(a.path)).toEqual([]);

      expectAck(await sendMessage(sender, conversation, 'second'));
      await until(() => pushesTo(b.path).length === 2);
      expect(pushesTo(b.path)[1]!.payload).toMatchObject({ badge: 2 });
    } finally {
      await closeAll([sender]);
    }
  });

  it('pushes nothing to a member who is online, or has muted the conversation', async () => {
    const a = await subscribedUser();
    const b = await subscribedUser();
    const conversation = await createDirect(server.httpUrl, a.userId, b.userId);
    const sender = await TestClient.open(server.wsUrl, { user: a.userId });
    const online = await TestClient.open(server.wsUrl, { user: b.userId });
    try {
      expectAck(await sendMessage(sender, conversation, 'while online'));
      await online.waitFor((f) => f.type === 'event');
      const muted = await online.request({
        type: 'set_notifications',
        conversation_id: conversation,
        level: 'none',
      });
      expect(muted.type).toBe('ok');
      await closeAll([online]);
      expectAck(await sendMessage(sender, conversation, 'while muted'));
      // A third member's push after both proves the queue ran past them.
      const c = await subscribedUser();
      const other = await createDirect(server.httpUrl, a.userId, c.userId);
      expectAck(await sendMessage(sender, other, 'to c'));
      await until(() => pushesTo(c.path).length === 1);
      expect(pushesTo(b.path)).toEqual([]);
    } finally {
      await closeAll([sender, online]);
    }
  });
});
