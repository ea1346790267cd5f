import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, TestClient } from '../helpers/client.js';
import { api, createGroup, startTestServer, type TestServer, uid } from '../helpers/server.js';

const BODY = 60_000;

/** Backpressure: a consumer that stops reading is cut off with 4009, not buffered without bound. */
describe('slow consumer', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      maxBufferedBytes: 256 * 1024,
      maxBodyBytes: BODY,
      maxFrameBytes: 65_536,
      sendBurst: 100_000,
      sendsPerSecond: 100_000,
    });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('a reader that stops reading is closed 4009 while the sender and other readers carry on', async () => {
    const sender = uid('tx');
    const slow = uid('slow');
    const fine = uid('fine');
    const conv = await createGroup(server.httpUrl, sender, [slow, fine], 'firehose');
    const tx = await TestClient.open(server.wsUrl, { user: sender });
    const s = await TestClient.open(server.wsUrl, { user: slow });
    const f = await TestClient.open(server.wsUrl, { user: fine });
    try {
      // stop reading from the socket: the kernel buffers fill, then the server's buffer
      (s.ws as unknown as { _socket: Socket })._socket.pause();
      const body = 'x'.repeat(BODY);
      let sent = 0;
      let slowClosedAt = -1;
      // keep sending until the server gives up on the slow reader (bounded at ~30 MB)
      const closedCode = new Promise<number>((resolve) => {
        s.ws.once('close', (code) => resolve(code));
      });
      let done = false;
      void closedCode.then(() => {
        done = true;
        slowClosedAt = sent;
      });
      // The paused client cannot see the close until it reads again; the server's close counter can.
      const closes4009 = async () => {
        const m = await api(server.httpUrl, 'GET', '/metrics');
        const line = m.text
          .split('\n')
          .find((l) => l.startsWith('natter_closes_total{') && l.includes('"4009"'));
        return line === undefined ? 0 : Number(line.split(' ').at(-1));
      };
      while (!done && sent < 500) {
        await Promise.all(Array.from({ length: 20 }, () => tx.sendOk(conv, body)));
        sent += 20;
        if ((await closes4009()) > 0) break;
      }
      // the close frame itself sits behind unread data; resume reading to receive it
      (s.ws as unknown as { _socket: Socket })._socket.resume();
      const code = await Promise.race([
        closedCode,
        new Promise<number>((r) => setTimeout(() => r(-1), 5_000)),
      ]);
      expect(code).toBe(4009);
      expect(slowClosedAt === -1 || slowClosedAt <= 500).toBe(true);
      // cut off long before the whole stream (30 MB) was buffered for it
      expect(sent).toBeLessThan(500);
      // the healthy reader got everything and is still connected
      await f.waitFor(() => f.liveEvents(conv).length >= sent, {
        timeoutMs: 10_000,
        label: 'fine reader events',
      });
      expect(f.isOpen).toBe(true);
      await tx.pingPong();
    } finally {
      await closeAll([tx, s, f]);
    }
  }, 30_000);
});
