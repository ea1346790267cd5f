import { randomUUID } from 'node:crypto';
import type { AckFrame, ServerFrame } from '@natter/protocol';
import { describe, expect, it } from 'vitest';
import { closeAll, TestClient } from '../helpers/client.js';
import { createDirect, signToken, uid } from '../helpers/server.js';
import { StreamClient } from '../helpers/stream-client.js';
import { clusterServices, useChildCluster, useClusterBackends } from './cluster-harness.js';

/**
 * The HTTP fallback transport on a cluster: a client on an event stream or long polls on one node
 * and a WebSocket client on another hear each other, and a stream's id means nothing to the node
 * that did not open it (404: the client opens a new stream there and resumes).
 */

const adminUrl = await clusterServices('the fallback transport cluster tests');
const PATIENT = 10_000;

describe.runIf(adminUrl !== null)('the HTTP fallback on a cluster of two nodes', () => {
  const backends = useClusterBackends(adminUrl ?? '');
  const cluster = useChildCluster(backends, 2);
  const node = (i: number) => {
    const found = cluster.nodes[i];
    if (!found) throw new Error(`no node ${i}`);
    return found;
  };

  for (const mode of ['sse', 'poll'] as const) {
    it(`${mode}: a stream on node 0 and a WebSocket on node 1 exchange messages`, async () => {
      const [alice, bob] = [uid('alice'), uid('bob')];
      const conv = await createDirect(node(0).httpUrl, alice, bob);
      const a = await StreamClient.open(node(0).httpUrl, mode);
      const b = await TestClient.open(node(1).wsUrl, { user: bob });
      try {
        await a.post({ type: 'auth', id: 'a1', token: await signToken(alice) });
        await a.waitFor((f) => f.type === 'ready', PATIENT);
        const cmid = randomUUID();
        await a.post({
          type: 'send',
          id: 's1',
          conversation_id: conv,
          client_msg_id: cmid,
          body: 'from a stream',
        });
        const ack = (await a.waitFor((f) => f.type === 'ack', PATIENT)) as AckFrame;
        const live = await b.waitFor(
          (f: ServerFrame) => f.type === 'event' && f.event.body === 'from a stream',
          { timeoutMs: PATIENT, label: 'stream message on node 1' },
        );
        expect(live.type === 'event' && live.event.seq).toBe(ack.seq);
        await b.sendOk(conv, 'from a socket');
        await a.waitFor((f) => f.type === 'event' && f.event.body === 'from a socket', PATIENT);
        // The other node does not know this stream.
        const elsewhere = await fetch(`${node(1).httpUrl}/v1/stream/${a.streamId}`, {
          method: 'POST',
          body: '{}',
        });
        expect(elsewhere.status).toBe(404);
      } finally {
        a.stop();
        await closeAll([b]);
      }
    });
  }
});
