import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webPush from 'web-push';
import { sendMessage } from '../helpers/chat-requests.js';
import { closeAll, expectAck, TestClient } from '../helpers/client.js';
import { ManualClock } from '../helpers/manual-clock.js';
import {
  api,
  createDirect,
  createGroup,
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

  it("skips only the device whose session is live: the phone is woken while the desktop's socket is open", async () => {
    const username = `pd_${uid().slice(2, 10)}`;
    const password = 'correct horse battery';
    expect((await api(server.httpUrl, 'POST', '/v1/accounts', { body: { username, password } })).status).toBe(
      201,
    );
    const login = () =>
      api<{ token: string; user_id: string }>(server.httpUrl, 'POST', '/v1/sessions', {
        body: { username, password },
      });
    const [desktop, phone] = [(await login()).body, (await login()).body];
    const endpoints = { desktop: endpoint.subscribe(), phone: endpoint.subscribe() };
    for (const [session, subscription] of [
      [desktop, endpoints.desktop],
      [phone, endpoints.phone],
    ] as const) {
      const registered = await api(server.httpUrl, 'POST', '/v1/push/devices', {
        token: session.token,
        body: { provider: 'webpush', ...subscription },
      });
      expect(registered.status).toBe(204);
    }
    const path = (which: keyof typeof endpoints) => new URL(endpoints[which].endpoint).pathname;
    const friend = uid('friend');
    const conversation = await createDirect(server.httpUrl, friend, desktop.user_id);
    const sender = await TestClient.open(server.wsUrl, { user: friend });
    const open = await TestClient.open(server.wsUrl, { token: desktop.token });
    try {
      expectAck(await sendMessage(sender, conversation, 'while the desktop is open'));
      await until(() => pushesTo(path('phone')).length === 1);
      expect(pushesTo(path('desktop'))).toEqual([]);
      await closeAll([open]);
      expectAck(await sendMessage(sender, conversation, 'after it closed'));
      await until(() => pushesTo(path('desktop')).length === 1);
      await until(() => pushesTo(path('phone')).length === 2);
    } finally {
      await closeAll([sender, open]);
    }
  });

  it('at mention-only, pushes only the messages that mention the member', async () => {
    const a = await subscribedUser();
    const b = await subscribedUser();
    const group = await createGroup(server.httpUrl, a.userId, [b.userId]);
    const bSocket = await TestClient.open(server.wsUrl, { user: b.userId });
    expect(
      (await bSocket.request({ type: 'set_notifications', conversation_id: group, level: 'mentions' })).type,
    ).toBe('ok');
    await closeAll([bSocket]);
    const sender = await TestClient.open(server.wsUrl, { user: a.userId });
    try {
      expectAck(await sendMessage(sender, group, 'no mention'));
      // A push to someone else queued after it shows the queue got past it.
      const c = await subscribedUser();
      expectAck(await sendMessage(sender, await createDirect(server.httpUrl, a.userId, c.userId), 'to c'));
      await until(() => pushesTo(c.path).length === 1);
      expect(pushesTo(b.path)).toEqual([]);
      expectAck(await sendMessage(sender, group, 'hey you', { mentions: [b.userId] }));
      await until(() => pushesTo(b.path).length === 1);
      expect(pushesTo(b.path)[0]!.payload).toMatchObject({ conversation_id: group, badge: 2 });
    } finally {
      await closeAll([sender]);
    }
  });
});

describe('the push queue across a restart', () => {
  it('delivers a push queued before the server stopped, after it starts again', async () => {
    const endpoint = await WebPushEndpoint.start();
    const vapid = webPush.generateVAPIDKeys();
    const clock = new ManualClock();
    const settings = {
      pushVapidPublicKey: vapid.publicKey,
      pushVapidPrivateKey: vapid.privateKey,
      pushCoalesceMs: 5_000,
    };
    let server = await startTestServer(settings, undefined, { clock, pushAgent: endpoint.agent });
    const dataDir = server.dataDir;
    try {
      const a = uid('push');
      const b = uid('push');
      const subscription = endpoint.subscribe();
      const registered = await api(server.httpUrl, 'POST', '/v1/push/devices', {
        token: await signToken(b),
        body: { provider: 'webpush', ...subscription },
      });
      expect(registered.status).toBe(204);
      const conversation = await createDirect(server.httpUrl, a, b);
      const sender = await TestClient.open(server.wsUrl, { user: a });
      expectAck(await sendMessage(sender, conversation, 'before the restart'));
      await closeAll([sender]);
      await server.close();
      expect(endpoint.received).toEqual([]);

      server = await startTestServer(settings, dataDir, { clock, pushAgent: endpoint.agent });
      await clock.advance(5_000);
      await endpoint.until(1);
      expect(endpoint.received[0]!.payload).toMatchObject({ conversation_id: conversation, badge: 1 });
    } finally {
      await server.close();
      await endpoint.close();
    }
  });
});
