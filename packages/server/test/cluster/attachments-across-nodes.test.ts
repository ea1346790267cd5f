import type { AttachmentRef, DownloadTicket, UploadTicket } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, expectAck, TestClient } from '../helpers/client.js';
import { PNG_3X2 } from '../helpers/images.js';
import { S3_BUCKET, startS3rver } from '../helpers/s3rver.js';
import { api, createGroup, signToken, uid } from '../helpers/server.js';
import { clusterServices, useChildCluster, useClusterBackends } from './cluster-harness.js';

/**
 * Attachments on a cluster sharing one S3 bucket: an upload asked for on one node is completed
 * on the other, and a member gets the download from either, straight from the bucket.
 */

const adminUrl = await clusterServices('the attachment cluster tests');

describe.runIf(adminUrl !== null)('attachments on a cluster of two nodes and one bucket', () => {
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  // The bucket's port is only known once it runs: the nodes find it through this object.
  const env: Record<string, string> = {
    NATTER_ATTACHMENT_STORE: 's3',
    NATTER_S3_BUCKET: S3_BUCKET,
    NATTER_S3_ACCESS_KEY_ID: 'S3RVER',
    NATTER_S3_SECRET_ACCESS_KEY: 'S3RVER',
    NATTER_S3_PREFIX: 'media/',
    NATTER_S3_FORCE_PATH_STYLE: 'true',
    NATTER_ATTACHMENT_SIGNING_KEY: 'the-same-on-every-node-0123456789',
  };
  beforeAll(async () => {
    s3 = await startS3rver();
    env.NATTER_S3_ENDPOINT = s3.endpoint;
  });
  afterAll(async () => {
    await s3?.close();
  });
  const backends = useClusterBackends(adminUrl ?? '');
  const cluster = useChildCluster(backends, 2, env);
  const node = (i: number) => {
    const found = cluster.nodes[i];
    if (!found) throw new Error(`no node ${i}`);
    return found;
  };

  it('uploads through one node, completes on the other, and serves members from either', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const [ta, tb] = [await signToken(alice), await signToken(bob)];
    const conv = await createGroup(node(0).httpUrl, alice, [bob], 'media');
    const ticket = await api<UploadTicket>(node(0).httpUrl, 'POST', '/v1/attachments', {
      token: ta,
      body: { name: 'dot.png', type: 'image/png', size: PNG_3X2.byteLength },
    });
    expect(ticket.status).toBe(201);
    expect(ticket.body.upload_url.startsWith(`${s3.endpoint}/`)).toBe(true);
    const put = await fetch(ticket.body.upload_url, { method: 'PUT', body: PNG_3X2 });
    expect(put.ok).toBe(true);
    const done = await fetch(node(1).httpUrl + ticket.body.complete_url, { method: 'POST' });
    const ref = (await done.json()) as AttachmentRef;
    expect(ref).toMatchObject({ type: 'image/png', width: 3, height: 2 });

    const a = await TestClient.open(node(1).wsUrl, { user: alice });
    try {
      const ack = expectAck(
        await a.request({
          type: 'send',
          conversation_id: conv,
          client_msg_id: crypto.randomUUID(),
          body: 'from the bucket',
          attachments: [ref.id],
        }),
      );
      for (const i of [0, 1]) {
        const path = `/v1/conversations/${conv}/messages/${ack.seq}/attachments/${ref.id}`;
        const download = await api<DownloadTicket>(node(i).httpUrl, 'GET', path, { token: tb });
        expect(download.status).toBe(200);
        const bytes = Buffer.from(await (await fetch(download.body.url)).arrayBuffer());
        expect(bytes.equals(PNG_3X2)).toBe(true);
      }
    } finally {
      await closeAll([a]);
    }
  });
});
