import { expect } from 'vitest';
import WebSocket from 'ws';
import { NatterClient, NatterHttp, type OutboxEntry } from '../packages/client/src/index.js';
import type { WebSocketLike } from '../packages/client/src/socket.js';
import type { TestServer } from '../packages/server/test/helpers/server.js';

/**
 * Sends `texts`, in order, from the account of `token` to its 1:1 with `peerUsername`, through the
 * SDK in Node (quicker than typing them), and waits until the server has acked each one.
 */
export async function sendFromNode(
  server: TestServer,
  token: string,
  peerUsername: string,
  texts: string[],
): Promise<void> {
  const http = new NatterHttp(server.httpUrl, () => token);
  const { conversation_id } = await http.direct({ username: peerUsername });
  const client = new NatterClient({
    url: server.wsUrl,
    token,
    webSocket: (url) => new WebSocket(url, { origin: server.httpUrl }) as unknown as WebSocketLike,
  });
  let acked = 0;
  client.on('outbox', (entry: OutboxEntry) => {
    if (entry.state === 'sent') acked += 1;
  });
  await client.connect();
  for (const text of texts) await client.send(conversation_id, text);
  await expect.poll(() => acked, { timeout: 30_000, interval: 50 }).toBe(texts.length);
  client.close();
}
