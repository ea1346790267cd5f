import type { ServerFrame } from '@natter/protocol';
import { describe, expect, it } from 'vitest';
import { mintApiKey } from '../../src/auth/api-keys.js';
import { closeAll, TestClient } from '../helpers/client.js';
import { api, uid } from '../helpers/server.js';
import { clusterServices, useChildCluster, useClusterBackends } from './cluster-harness.js';

/**
 * The server API of a product backend on a cluster: whichever node its request lands on, a message
 * it sends reaches members live on other nodes, a retried send lands once, and a revocation closes
 * the user's sockets wherever they are.
 */

const adminUrl = await clusterServices('the server API cluster tests');
const PATIENT = { timeoutMs: 10_000 };

describe.runIf(adminUrl !== null)('the server API on a cluster of two nodes', () => {
  const key = mintApiKey('backend', ['users', 'conversations', 'messages']);
  const backends = useClusterBackends(adminUrl ?? '');
  const cluster = useChildCluster(backends, 2, { NATTER_SERVER_API_KEYS: key.entry });
  const node = (i: number) => {
    const found = cluster.nodes[i];
    if (!found) throw new Error(`no node ${i}`);
    return found;
  };
  const call = (i: number, method: string, path: string, body?: unknown) =>
    api<Record<string, unknown>>(node(i).httpUrl, method, path, {
      token: key.key,
      ...(body === undefined ? {} : { body }),
    });

  it('sends through one node to members live on the other, once however often it is retried', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    for (const user of [alice, bob])
      expect((await call(0, 'POST', '/v1/server/users', { user_id: user })).status).toBe(201);
    const group = await call(1, 'POST', '/v1/server/conversations', {
      creator_id: alice,
      title: 'Orders',
      member_ids: [bob],
    });
    const id = (group.body.conversation as { conversation_id: string }).conversation_id;
    const b1 = await TestClient.open(node(1).wsUrl, { user: bob });
    try {
      const send = { sender_id: alice, client_msg_id: 'ship-1', body: 'Your order shipped' };
      const first = await call(0, 'POST', `/v1/server/conversations/${id}/messages`, send);
      // The retry reaches the other node, as behind a load balancer.
      const again = await call(1, 'POST', `/v1/server/conversations/${id}/messages`, send);
      expect(first.body).toMatchObject({ duplicate: false });
      expect(again.body).toMatchObject({ seq: first.body.seq, duplicate: true });
      const live = await b1.waitFor(
        (f: ServerFrame) => f.type === 'event' && f.event.body === 'Your order shipped',
        { ...PATIENT, label: 'server API send on node 0, live on node 1' },
      );
      expect(live.type === 'event' && live.event.seq).toBe(first.body.seq);
      const history = await call(1, 'GET', `/v1/server/conversations/${id}/events?user_id=${bob}`);
      const bodies = (history.body.events as Array<{ kind: string; body?: string }>)
        .filter((e) => e.kind === 'message')
        .map((e) => e.body);
      expect(bodies).toEqual(['Your order shipped']);
    } finally {
      await closeAll([b1]);
    }
  });

  it("revokes a user's sessions through one node and closes their socket on the other", async () => {
    const username = `rv_${uid().slice(2, 10)}`;
    const password = 'correct horse battery';
    expect(
      (await api(node(0).httpUrl, 'POST', '/v1/accounts', { body: { username, password } })).status,
    ).toBe(201);
    const session = await api<{ token: string; user_id: string }>(node(0).httpUrl, 'POST', '/v1/sessions', {
      body: { username, password },
    });
    const socket = await TestClient.open(node(1).wsUrl, { token: session.body.token });
    const revoked = await call(0, 'POST', `/v1/server/users/${session.body.user_id}/sessions/revoke`);
    expect(revoked.body).toEqual({ revoked: 1 });
    expect(await socket.waitClosed(PATIENT.timeoutMs)).toMatchObject({ code: 4003 });
  });
});
