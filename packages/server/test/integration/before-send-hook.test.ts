import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintApiKey } from '../../src/auth/api-keys.js';
import { SIGNATURE_HEADER, verifyWebhookSignature } from '../../src/webhooks/webhook-signature.js';
import { sendMessage } from '../helpers/chat-requests.js';
import { expectAck, expectError, TestClient } from '../helpers/client.js';
import { api, startTestServer, type TestServer, uid } from '../helpers/server.js';

const SECRET = 'hook-secret';

/**
 * The product's moderation, a real HTTP server: it verifies the signature, then rejects "spam",
 * rewrites "darn", never answers "slow" (held until the test ends), and allows the rest.
 */
async function startModerator() {
  const held: ServerResponse[] = [];
  let badSignatures = 0;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => {
      raw += chunk.toString();
    });
    request.on('end', () => {
      const header = String(request.headers[SIGNATURE_HEADER] ?? '');
      if (verifyWebhookSignature(SECRET, header, raw, Date.now()) !== 'valid') {
        badSignatures++;
        response.writeHead(401).end();
        return;
      }
      const { body } = JSON.parse(raw) as { body: string };
      const answer = (verdict: unknown) =>
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(verdict));
      if (body === 'slow') held.push(response);
      else if (body === 'spam') answer({ action: 'reject', reason: 'No spam here.' });
      else if (body.includes('darn')) answer({ action: 'rewrite', body: body.replaceAll('darn', 'd**n') });
      else answer({ action: 'allow' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/moderate`,
    badSignatures: () => badSignatures,
    close: async () => {
      for (const response of held) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function describeMode(failMode: 'open' | 'closed') {
  describe(`before-send hook (fail ${failMode})`, () => {
    const key = mintApiKey('backend', ['users', 'conversations', 'messages']);
    let moderator: Awaited<ReturnType<typeof startModerator>>;
    let server: TestServer;
    let conversationId: string;
    const [alice, bob] = [uid('alice'), uid('bob')];

    const send = (clientMsgId: string, body: string) =>
      api<Record<string, unknown> & { error?: { code: string; message: string } }>(
        server.httpUrl,
        'POST',
        `/v1/server/conversations/${conversationId}/messages`,
        { token: key.key, body: { sender_id: alice, client_msg_id: clientMsgId, body } },
      );

    beforeAll(async () => {
      moderator = await startModerator();
      server = await startTestServer({
        serverApiKeys: [key.entry],
        beforeSendUrl: moderator.url,
        beforeSendSecret: SECRET,
        beforeSendTimeoutMs: 150,
        beforeSendFailMode: failMode,
      });
      for (const user of [alice, bob])
        await api(server.httpUrl, 'POST', '/v1/server/users', { token: key.key, body: { user_id: user } });
      const group = await api<{ conversation: { conversation_id: string } }>(
        server.httpUrl,
        'POST',
        '/v1/server/conversations',
        { token: key.key, body: { creator_id: alice, title: 'moderated', member_ids: [bob] } },
      );
      conversationId = group.body.conversation.conversation_id;
    });
    afterAll(async () => {
      await server.dispose();
      await moderator.close();
    });

    async function storedBodies(): Promise<string[]> {
      const page = await api<{ events: Array<{ kind: string; body?: string }> }>(
        server.httpUrl,
        'GET',
        `/v1/server/conversations/${conversationId}/events?user_id=${bob}`,
        { token: key.key },
      );
      return page.body.events.filter((event) => event.kind === 'message').map((event) => event.body!);
    }

    it('allows, rewrites and rejects (a catalogue error with the reason), storing nothing rejected', async () => {
      expect((await send('m1', 'hello')).status).toBe(200);
      expect((await send('m2', 'oh darn')).status).toBe(200);
      const rejected = await send('m3', 'spam');
      expect(rejected.status).toBe(422);
      expect(rejected.body.error).toMatchObject({ code: 'message_rejected', message: 'No spam here.' });
      expect(await storedBodies()).toEqual(['hello', 'oh d**n']);
      expect(moderator.badSignatures()).toBe(0);
    });

    it('gives a WebSocket sender the same rejection as an error frame', async () => {
      const client = await TestClient.open(server.wsUrl, { user: alice });
      try {
        expectError(await sendMessage(client, conversationId, 'spam'), 'message_rejected');
        expect(expectAck(await sendMessage(client, conversationId, 'darn it')).seq).toBeGreaterThan(0);
      } finally {
        await client.close();
      }
    });

    it(
      failMode === 'open'
        ? 'stores the message as sent when the hook misses its deadline'
        : 'refuses the message, retryable, when the hook misses its deadline',
      async () => {
        const slow = await send('m4', 'slow');
        if (failMode === 'open') {
          expect(slow.status).toBe(200);
          expect((await storedBodies()).at(-1)).toBe('slow');
        } else {
          expect(slow.status).toBe(503);
          expect(slow.body.error).toMatchObject({ code: 'moderation_unavailable', retryable: true });
          expect(await storedBodies()).not.toContain('slow');
        }
      },
    );
  });
}

describeMode('open');
describeMode('closed');
