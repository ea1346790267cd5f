import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webPush from 'web-push';
import { hashToken } from '../../src/auth/token-verifier.js';
import { sendMessage } from '../helpers/chat-requests.js';
import { closeAll, expectAck, TestClient } from '../helpers/client.js';
import { api, createDirect, uid, until } from '../helpers/server.js';
import { WebPushEndpoint } from '../push/web-push-endpoint.js';
import { clusterServices, useChildCluster, useClusterBackends } from './cluster-harness.js';

/**
 * Push on a cluster: whether a device is live is known across nodes. A message sent through one
 * node wakes no device whose session has a socket open on the other, while the same user's other
 * devices are woken; once that socket closes, the device is woken again.
 */

const adminUrl = await clusterServices('the push cluster tests');

describe.runIf(adminUrl !== null)('push notifications on a cluster of two nodes', () => {
  const vapid = webPush.generateVAPIDKeys();
  // The nodes are child processes: they trust the local push service's certificate through this file.
  const caFile = join(tmpdir(), `natter-push-ca-${process.pid}-${Date.now()}.pem`);
  let endpoint: WebPushEndpoint;
  beforeAll(async () => {
    endpoint = await WebPushEndpoint.start();
    await writeFile(caFile, String(endpoint.agent.options.ca));
  });
  afterAll(async () => {
    await endpoint?.close();
    await rm(caFile, { force: true });
  });
  const backends = useClusterBackends(adminUrl ?? '');
  const cluster = useChildCluster(backends, 2, {
    NATTER_PUSH_VAPID_PUBLIC_KEY: vapid.publicKey,
    NATTER_PUSH_VAPID_PRIVATE_KEY: vapid.privateKey,
    NATTER_PUSH_VAPID_SUBJECT: 'mailto:ops@example.test',
    NATTER_PUSH_COALESCE_MS: '0',
    NODE_EXTRA_CA_CERTS: caFile,
  });
  const node = (i: number) => {
    const found = cluster.nodes[i];
    if (!found) throw new Error(`no node ${i}`);
    return found;
  };
  const pushesTo = (subscription: { endpoint: string }) =>
    endpoint.received.filter((p) => p.path === new URL(subscription.endpoint).pathname);

  it("skips the device whose session is live on the other node, wakes the user's other device, and both once it closes", async () => {
    const username = `pc_${uid().slice(2, 10)}`;
    const password = 'correct horse battery';
    expect(
      (await api(node(0).httpUrl, 'POST', '/v1/accounts', { body: { username, password } })).status,
    ).toBe(201);
    const login = async () =>
      (
        await api<{ token: string; user_id: string }>(node(0).httpUrl, 'POST', '/v1/sessions', {
          body: { username, password },
        })
      ).body;
    const [desktop, phone] = [await login(), await login()];
    const subscriptions = { desktop: endpoint.subscribe(), phone: endpoint.subscribe() };
    for (const [session, subscription] of [
      [desktop, subscriptions.desktop],
      [phone, subscriptions.phone],
    ] as const) {
      const registered = await api(node(0).httpUrl, 'POST', '/v1/push/devices', {
        token: session.token,
        body: { provider: 'webpush', ...subscription },
      });
      expect(registered.status).toBe(204);
    }
    const friend = uid('friend');
    const conversation = await createDirect(node(0).httpUrl, friend, desktop.user_id);
    const sender = await TestClient.open(node(0).wsUrl, { user: friend });
    const open = await TestClient.open(node(1).wsUrl, { token: desktop.token });
    try {
      expectAck(await sendMessage(sender, conversation, 'while the desktop is open on node 1'));
      await until(() => pushesTo(subscriptions.phone).length === 1, 10_000);
      expect(pushesTo(subscriptions.desktop)).toEqual([]);
      await closeAll([open]);
      // Node 0 learns that the session is gone from the registry: wait for its entry to go.
      const redis = await backends.redis.connect();
      const entry = `${backends.prefix}sessions:reg:${hashToken(desktop.token)}`;
      for (let i = 0; (await redis.exists(entry)) === 1; i++) {
        if (i > 200) throw new Error('the session stayed registered after its socket closed');
        await new Promise((r) => setTimeout(r, 10));
      }
      expectAck(await sendMessage(sender, conversation, 'after it closed'));
      await until(() => pushesTo(subscriptions.desktop).length === 1, 10_000);
      await until(() => pushesTo(subscriptions.phone).length === 2, 10_000);
    } finally {
      await closeAll([sender, open]);
    }
  });
});
