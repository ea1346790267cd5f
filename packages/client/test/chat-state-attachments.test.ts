import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PNG_3X2 } from '../../server/test/helpers/images.js';
import {
  createDirect,
  startTestServer,
  type TestServer,
  uid,
  until,
} from '../../server/test/helpers/server.js';
import { liveDevice } from './live-device.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.dispose();
});

function live(user: string) {
  return liveDevice(server, user);
}

describe('attachments in the SDK', () => {
  it('uploads, sends once, folds the refs on every device, downloads, and drops them with a deletion', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await createDirect(server.httpUrl, alice, bob);
    const [a, b] = [await live(alice), await live(bob)];
    const ref = await a.http.uploadAttachment({
      name: 'dot.png',
      type: 'application/octet-stream',
      bytes: new Uint8Array(PNG_3X2),
    });
    expect(ref).toMatchObject({ name: 'dot.png', type: 'image/png', width: 3, height: 2 });

    const entry = await a.client.send(conv, 'dot.png', { attachments: [ref] });
    expect(a.state.messages(conv).at(-1)).toMatchObject({ seq: null, attachments: [ref] });
    await until(() => b.state.messages(conv).some((m) => m.clientMsgId === entry.clientMsgId));
    const seen = b.state.messages(conv).find((m) => m.clientMsgId === entry.clientMsgId)!;
    expect(seen.attachments).toEqual([ref]);
    await until(() => a.state.messages(conv).at(-1)?.seq != null);
    expect(a.state.messages(conv).filter((m) => m.clientMsgId === entry.clientMsgId)).toHaveLength(1);

    const url = await b.http.attachmentUrl(conv, seen.seq!, ref.id);
    const download = await fetch(url);
    expect(Buffer.from(await download.arrayBuffer()).equals(PNG_3X2)).toBe(true);

    await a.client.deleteMessage(conv, seen.seq!);
    await until(() => b.state.messages(conv).find((m) => m.seq === seen.seq)?.deleted === true);
    expect(b.state.messages(conv).find((m) => m.seq === seen.seq)?.attachments).toEqual([]);
    await expect(b.http.attachmentUrl(conv, seen.seq!, ref.id)).rejects.toMatchObject({ code: 'not_found' });
    for (const x of [a, b]) {
      x.state.close();
      x.client.close();
    }
  });
});
