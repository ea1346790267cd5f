import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PNG_3X2 } from '../../server/test/helpers/images.js';
import { s3Settings, startS3rver } from '../../server/test/helpers/s3rver.js';
import { signToken, startTestServer, type TestServer, uid, until } from '../../server/test/helpers/server.js';
import { NatterHttp } from '../src/index.js';
import { liveDevice } from './live-device.js';

let server: TestServer;
let proxy: Server;
let proxyUrl: string;
/** How many upload PUTs reached the proxy, and how many it cut off before answering. */
const puts = { seen: 0, cut: 0 };

beforeAll(async () => {
  server = await startTestServer();
  // A proxy that drops the connection of the first upload PUT, as a flaky network would.
  proxy = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (request.method === 'PUT' && request.url?.includes('/content')) {
      puts.seen++;
      if (puts.cut === 0) {
        puts.cut++;
        request.socket.destroy();
        return;
      }
    }
    const headers = Object.fromEntries(
      Object.entries(request.headers).filter(
        ([name]) => !['host', 'connection', 'content-length'].includes(name),
      ),
    ) as Record<string, string>;
    const answer = await fetch(server.httpUrl + request.url, {
      method: request.method,
      headers,
      ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
    });
    response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' });
    response.end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => proxy?.close(resolve));
  await server?.dispose();
});

describe('NatterHttp.uploadAttachment', () => {
  it('sends the bytes again after an interrupted upload, and the upload arrives once', async () => {
    const token = await signToken(uid('alice'));
    const http = new NatterHttp(proxyUrl, () => token);
    const ref = await http.uploadAttachment({
      name: 'dot.png',
      type: 'image/png',
      bytes: new Uint8Array(PNG_3X2),
    });
    expect(puts).toEqual({ seen: 2, cut: 1 });
    expect(ref).toMatchObject({ name: 'dot.png', type: 'image/png', size: PNG_3X2.byteLength });
  });

  it('does not send the bytes again after a refusal (it is not an interruption)', async () => {
    const token = await signToken(uid('bob'));
    const http = new NatterHttp(proxyUrl, () => token);
    const before = puts.seen;
    // All zeros: sniffed as application/octet-stream, which the default types do not allow.
    await expect(
      http.uploadAttachment({ name: 'blob.bin', type: 'image/png', bytes: new Uint8Array(64) }),
    ).rejects.toMatchObject({ code: 'attachment_type_not_allowed' });
    expect(puts.seen - before).toBe(1);
  });
});

describe('NatterHttp.uploadAttachment to an S3 bucket directly', () => {
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let direct: TestServer;
  beforeAll(async () => {
    s3 = await startS3rver();
    direct = await startTestServer(s3Settings(s3.endpoint));
  });
  afterAll(async () => {
    await direct?.dispose();
    await s3?.close();
  });

  it('PUTs the bytes at the presigned URL, has the server check them, and downloads them from the bucket', async () => {
    const alice = uid('alice');
    const token = await signToken(alice);
    const http = new NatterHttp(direct.httpUrl, () => token);
    const ref = await http.uploadAttachment({
      name: 'dot.png',
      type: 'application/octet-stream',
      bytes: new Uint8Array(PNG_3X2),
    });
    // The server sniffed what arrived in the bucket: a PNG, whatever the client said.
    expect(ref).toMatchObject({
      name: 'dot.png',
      type: 'image/png',
      size: PNG_3X2.byteLength,
      width: 3,
      height: 2,
    });
    const conversation = await http.createGroup('media', []);
    const device = await liveDevice(direct, alice);
    try {
      const entry = await device.client.send(conversation.conversation_id, 'look', { attachments: [ref] });
      const mine = () =>
        device.state.messages(conversation.conversation_id).find((m) => m.clientMsgId === entry.clientMsgId);
      await until(() => typeof mine()?.seq === 'number');
      const seq = mine()!.seq!;
      const url = await http.attachmentUrl(conversation.conversation_id, seq, ref.id);
      expect(url.startsWith(`${s3.endpoint}/`)).toBe(true);
      const download = await fetch(url);
      expect(download.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(await download.arrayBuffer()).equals(PNG_3X2)).toBe(true);
    } finally {
      device.state.close();
      device.client.close();
    }
  });
});
