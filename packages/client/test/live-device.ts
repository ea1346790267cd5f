import WebSocket from 'ws';
import { signToken, type TestServer, until } from '../../server/test/helpers/server.js';
import { ChatState, NatterClient, NatterHttp } from '../src/index.js';
import type { OutboxStorage } from '../src/outbox.js';
import type { WebSocketLike } from '../src/socket.js';

/** One device of a user against a real test server: the client (live when returned), its folded state, HTTP. */
export interface LiveDevice {
  user: string;
  client: NatterClient;
  state: ChatState;
  http: NatterHttp;
}

/**
 * Connects a device of `user` over a real WebSocket and waits until it is live. `members: true`
 * gives `ChatState` the members resolver the web app uses (per-member cursors, receipts).
 */
export async function liveDevice(
  server: TestServer,
  user: string,
  options: { members?: boolean; outbox?: OutboxStorage } = {},
): Promise<LiveDevice> {
  const client = new NatterClient({
    url: server.wsUrl,
    token: () => signToken(user),
    webSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
    ...(options.outbox && { outbox: options.outbox }),
  });
  const token = await signToken(user);
  const http = new NatterHttp(server.httpUrl, () => token);
  const state = options.members
    ? new ChatState(client, { members: async (id) => (await http.conversation(id)).members })
    : new ChatState(client);
  await client.connect();
  await until(() => client.state === 'live');
  return { user, client, state, http };
}
