import { randomUUID } from 'node:crypto';
import type { AttachmentRef, DownloadTicket, EventFrame, UploadTicket } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, expectAck, expectError, TestClient } from '../helpers/client.js';
import { PNG_3X2 } from '../helpers/images.js';
import { reachablePostgres, useTestDatabase } from '../helpers/postgres.js';
import { s3Settings, startS3rver } from '../helpers/s3rver.js';
import { api, createGroup, signToken, startTestServer, type TestServer, uid } from '../helpers/server.js';

/**
 * Asks for an upload and PUTs the bytes, as any client would: to the server, or (S3 with direct
 * transfer) to the bucket at its presigned URL, then tells the server it is there.
 */
async function upload(
  server: TestServer,
  token: string,
  file: { name: string; type: string; bytes: Uint8Array; size?: number },
) {
  const ticket = await api<UploadTicket>(server.httpUrl, 'POST', '/v1/attachments', {
    token,
    body: { name: file.name, type: file.type, size: file.size ?? file.bytes.byteLength },
  });
  if (ticket.status !== 201) return { ticket, put: null };
  const { upload_url: uploadUrl, complete_url: completeUrl } = ticket.body;
  const res = await fetch(uploadUrl.startsWith('/') ? server.httpUrl + uploadUrl : uploadUrl, {
    method: 'PUT',
    headers: { 'content-type': file.type },
    body: file.bytes,
  });
  if (completeUrl === undefined) {
    return {
      ticket,
      put: { status: res.status, body: (await res.json()) as AttachmentRef & { error?: { code: string } } },
    };
  }
  await res.arrayBuffer();
  // The store refused the bytes (not the size that was signed): nothing to complete.
  if (!res.ok)
    return { ticket, put: { status: res.status, body: {} as AttachmentRef & { error?: { code: string } } } };
  const done = await fetch(server.httpUrl + completeUrl, { method: 'POST' });
  return {
    ticket,
    put: { status: done.status, body: (await done.json()) as AttachmentRef & { error?: { code: string } } },
  };
}

const adminUrl = await reachablePostgres('the attachment tests on PostgreSQL');

describe.each([
  ['SQLite', 'files', false],
  ['PostgreSQL', 's3', true],
] as const)('attachments over HTTP and WebSocket (%s, %s)', (_, blobs, postgres) => {
  const database = postgres && adminUrl !== null ? useTestDatabase(adminUrl) : null;
  let server: TestServer;
  let s3: Awaited<ReturnType<typeof startS3rver>> | undefined;
  beforeAll(async () => {
    if (blobs === 's3') s3 = await startS3rver();
    server = await startTestServer({
      attachmentMaxBytes: 4096,
      attachmentTypes: ['image/*', 'application/pdf', 'text/plain'],
      ...(s3 ? s3Settings(s3.endpoint) : {}),
      ...(database ? { store: 'postgres' as const, databaseUrl: database.url } : {}),
    });
  });
  afterAll(async () => {
    await server?.dispose();
    await s3?.close();
  });

  it('uploads, sends, lets members download, and refuses strangers and removed members', async () => {
    const [alice, bob, carol, mallory] = [uid('alice'), uid('bob'), uid('carol'), uid('mallory')];
    const conv = await createGroup(server.httpUrl, alice, [bob, carol], 'media');
    const [ta, tb, tc, tm] = [
      await signToken(alice),
      await signToken(bob),
      await signToken(carol),
      await signToken(mallory),
    ];
    const a = await TestClient.open(server.wsUrl, { user: alice });
    const b = await TestClient.open(server.wsUrl, { user: bob });
    try {
      // The client claims a PDF; the bytes are a PNG, and the sniffed type wins.
      const { put } = await upload(server, ta, { name: 'cat.png', type: 'application/pdf', bytes: PNG_3X2 });
      expect(put?.status).toBe(200);
      const ref = put!.body;
      expect(ref).toMatchObject({
        name: 'cat.png',
        type: 'image/png',
        size: PNG_3X2.byteLength,
        width: 3,
        height: 2,
      });
      expect(Buffer.from(ref.thumbhash!, 'base64').byteLength).toBeGreaterThan(4);

      const cmid = randomUUID();
      const send = () =>
        a.request({
          type: 'send',
          conversation_id: conv,
          client_msg_id: cmid,
          body: 'look',
          attachments: [ref.id],
        });
      const ack = expectAck(await send());
      const pushed = await b.waitFor<EventFrame>((f) => f.type === 'event' && f.event.seq === ack.seq);
      expect(pushed.event.data?.attachments).toEqual([ref]);
      expect(expectAck(await send()).duplicate).toBe(true);

      const ticketPath = `/v1/conversations/${conv}/messages/${ack.seq}/attachments/${ref.id}`;
      const ticket = await api<DownloadTicket>(server.httpUrl, 'GET', ticketPath, { token: tb });
      expect(ticket.status).toBe(200);
      const url = ticket.body.url.startsWith('/') ? server.httpUrl + ticket.body.url : ticket.body.url;
      if (blobs === 's3') {
        // The bytes come straight from the bucket, at a short-lived presigned URL (s3rver does not
        // check signatures; S3, MinIO and R2 do).
        expect(url.startsWith(`${s3!.endpoint}/`)).toBe(true);
        const query = new URL(url).searchParams;
        expect(query.get('X-Amz-Expires')).toBe('300');
        expect(query.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
      }
      const download = await fetch(url);
      expect(download.status).toBe(200);
      expect(download.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(await download.arrayBuffer()).equals(PNG_3X2)).toBe(true);

      // A stranger gets not_found, exactly as for a conversation that does not exist.
      const stranger = await api<{ error: { code: string } }>(server.httpUrl, 'GET', ticketPath, {
        token: tm,
      });
      expect([stranger.status, stranger.body.error.code]).toEqual([404, 'not_found']);
      // Another member cannot send someone else's upload.
      const theft = await b.request({
        type: 'send',
        conversation_id: conv,
        client_msg_id: randomUUID(),
        body: 'mine',
        attachments: [ref.id],
      });
      expect(expectError(theft, 'bad_request').message).toContain('not an upload of yours');
      // A tampered or guessed URL is not_found.
      const forged = await fetch(
        `${server.httpUrl}/v1/attachments/${ref.id}?expires=9999999999999&signature=x`,
      );
      expect(forged.status).toBe(404);

      // Carol can download until she is removed; then the message is no longer hers to see.
      expect((await api(server.httpUrl, 'GET', ticketPath, { token: tc })).status).toBe(200);
      const removed = await api(server.httpUrl, 'DELETE', `/v1/conversations/${conv}/members/${carol}`, {
        token: ta,
      });
      expect(removed.status).toBe(200);
      const after = await api<{ error: { code: string } }>(server.httpUrl, 'GET', ticketPath, { token: tc });
      expect([after.status, after.body.error.code]).toEqual([404, 'not_found']);

      // Deleting the message takes its media with it (downloads stop at once; bytes after the grace).
      expectAck(
        await a.request({
          type: 'delete',
          conversation_id: conv,
          client_msg_id: randomUUID(),
          target_seq: ack.seq,
        }),
      );
      expect((await api(server.httpUrl, 'GET', ticketPath, { token: tb })).status).toBe(404);
    } finally {
      await closeAll([a, b]);
    }
  });

  it('refuses files over the size limit, types not allowed and bytes that differ from the declared size', async () => {
    const token = await signToken(uid('dave'));
    const big = await upload(server, token, {
      name: 'big.png',
      type: 'image/png',
      bytes: PNG_3X2,
      size: 5000,
    });
    expect([
      big.ticket.status,
      (big.ticket.body as unknown as { error: { code: string } }).error.code,
    ]).toEqual([413, 'attachment_too_large']);
    expect(JSON.stringify(big.ticket.body)).toContain('4096 bytes');

    const zip = Buffer.from([0x50, 0x4b, 0x03, 0x04, ...Buffer.alloc(60)]);
    const refused = await upload(server, token, { name: 'a.png', type: 'image/png', bytes: zip });
    expect([refused.put?.status, refused.put?.body.error?.code]).toEqual([
      415,
      'attachment_type_not_allowed',
    ]);

    const short = await upload(server, token, {
      name: 'a.png',
      type: 'image/png',
      bytes: PNG_3X2,
      size: PNG_3X2.byteLength + 1,
    });
    expect([short.put?.status, short.put?.body.error?.code]).toEqual([413, 'attachment_too_large']);

    const text = await upload(server, token, {
      name: 'notes.txt',
      type: 'image/png',
      bytes: Buffer.from('héllo'),
    });
    expect(text.put?.body).toMatchObject({ type: 'text/plain', size: 6 });
    expect(text.put?.body.width).toBeUndefined();
  });
});
