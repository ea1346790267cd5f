import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintApiKey } from '../../src/auth/api-keys.js';
import { closeAll, TestClient } from '../helpers/client.js';
import { api, createGroup, uid, until } from '../helpers/server.js';
import { clusterServices, useChildCluster, useClusterBackends } from './cluster-harness.js';

/**
 * Webhooks on a cluster: every node runs a dispatcher on the one shared queue. Messages sent
 * through both nodes each reach the receiver exactly once (the fan-out takes turns on its cursor,
 * claims skip what another node holds).
 */

const adminUrl = await clusterServices('the webhook cluster tests');

describe.runIf(adminUrl !== null)('webhooks on a cluster of two nodes', () => {
  const key = mintApiKey('backend', ['webhooks']);
  const backends = useClusterBackends(adminUrl ?? '');
  const cluster = useChildCluster(backends, 2, { NATTER_SERVER_API_KEYS: key.entry });
  const node = (i: number) => {
    const found = cluster.nodes[i];
    if (!found) throw new Error(`no node ${i}`);
    return found;
  };
  const received: string[] = [];
  let receiver: Server;
  beforeAll(async () => {
    receiver = createServer(async (req, res) => {
      for await (const _ of req);
      received.push(String(req.headers['natter-delivery-id']));
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  it('delivers each message sent through either node once', async () => {
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const created = await api(node(1).httpUrl, 'POST', '/v1/server/webhooks', {
      token: key.key,
      body: { url, events: ['message'] },
    });
    expect(created.status).toBe(201);
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await createGroup(node(0).httpUrl, alice, [bob]);
    const a = await TestClient.open(node(0).wsUrl, { user: alice });
    const b = await TestClient.open(node(1).wsUrl, { user: bob });
    try {
      for (let i = 0; i < 30; i++) await (i % 2 === 0 ? a : b).sendOk(conv, `m${i}`);
      await until(() => received.length >= 30, 20_000);
      // Give a double delivery every chance to show before counting.
      await new Promise((r) => setTimeout(r, 1_500));
      expect(received).toHaveLength(30);
      expect(new Set(received).size).toBe(30);
    } finally {
      await closeAll([a, b]);
    }
  });
});
