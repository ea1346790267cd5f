import { randomUUID } from 'node:crypto';
import { type EventFrame, MAX_METADATA_BYTES } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, expectAck, expectError, TestClient } from '../helpers/client.js';
import { createDirect, startTestServer, type TestServer, uid } from '../helpers/server.js';

/** A message may carry an app-defined JSON object the server stores and returns untouched. */
describe('send: metadata', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const send = (client: TestClient, conversationId: string, metadata: unknown, cmid = randomUUID()) =>
    client.request({
      type: 'send',
      conversation_id: conversationId,
      client_msg_id: cmid,
      body: 'card',
      metadata,
    });

  it('reaches the peer live and in history as sent; bad shapes and oversize objects are refused', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await createDirect(server.httpUrl, alice, bob);
    const a = await TestClient.open(server.wsUrl, { user: alice });
    const b = await TestClient.open(server.wsUrl, { user: bob });
    try {
      const metadata = { type: 'location', lat: 52.37, lng: 4.89, label: 'Café ☕', tags: ['x', 'y'] };
      const ack = expectAck(await send(a, conv, metadata));
      const pushed = await b.waitFor<EventFrame>((f) => f.type === 'event' && f.event.seq === ack.seq);
      expect(pushed.event.data).toEqual({ metadata });
      const history = await b.fullHistory(conv);
      expect(history.find((e) => e.seq === ack.seq)?.data).toEqual({ metadata });

      for (const bad of [['not', 'an', 'object'], 'text', 42, null])
        expectError(await send(a, conv, bad), 'bad_request');
      const big = { blob: 'x'.repeat(MAX_METADATA_BYTES) };
      const refused = expectError(await send(a, conv, big), 'bad_request');
      expect(refused.message).toContain(`${MAX_METADATA_BYTES} bytes`);
      const fits = { blob: 'x'.repeat(MAX_METADATA_BYTES - '{"blob":""}'.length) };
      expectAck(await send(a, conv, fits));
      // Only `send` carries metadata: an edit with it is a schema violation.
      const edit = await a.request({
        type: 'edit',
        conversation_id: conv,
        client_msg_id: randomUUID(),
        target_seq: ack.seq,
        body: 'changed',
        metadata: {},
      });
      expectError(edit, 'bad_request');
    } finally {
      await closeAll([a, b]);
    }
  });
});
