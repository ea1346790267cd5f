import type { ChatEvent } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  createDirect,
  createGroup,
  signToken,
  startTestServer,
  type TestServer,
  uid,
  until,
} from '../../server/test/helpers/server.js';
import { MemoryOutboxStorage, type OutboxStorage } from '../src/index.js';
import { liveDevice } from './live-device.js';

/** Small enough to reach with a few accented letters: the limit is in UTF-8 bytes. */
const MAX_BODY_BYTES = 64;

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ maxBodyBytes: MAX_BODY_BYTES });
});

afterAll(async () => {
  await server?.dispose();
});

async function live(user: string, outbox: OutboxStorage = new MemoryOutboxStorage()) {
  const device = await liveDevice(server, user, { outbox });
  const events: ChatEvent[] = [];
  device.client.on('event', (event) => events.push(event));
  return { ...device, events };
}

/** What the user wrote is never lost: a send refused for good stays, as failed, until retried or discarded. */
describe('sends the server refuses for good', () => {
  it('a body over max_body_bytes (counted in UTF-8 bytes, as the server counts) fails, and stays failed across a restart until discarded', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await createDirect(server.httpUrl, alice, bob);
    const storage = new MemoryOutboxStorage();
    const a = await live(alice, storage);
    expect(a.client.limits?.max_body_bytes).toBe(MAX_BODY_BYTES);

    // 32 letters é are 64 bytes: just fits. 33 are 66 bytes, though only 33 UTF-16 units: refused.
    await a.client.send(conv, 'é'.repeat(32));
    const tooLong = await a.client.send(conv, 'é'.repeat(33));
    await until(() => a.state.messages(conv).every((m) => m.status !== 'sending'));
    expect(a.state.messages(conv).map((m) => [m.body?.length, m.status, m.error?.code ?? null])).toEqual([
      [32, 'sent', null],
      [33, 'failed', 'body_too_large'],
    ]);
    expect((await storage.load()).map((e) => [e.clientMsgId, e.state])).toEqual([
      [tooLong.clientMsgId, 'failed'],
    ]);

    // A restart (a reload) shows it again as failed, and does not send it.
    a.state.close();
    a.client.close();
    const again = await live(alice, storage);
    await until(() => again.state.messages(conv).length > 0);
    const failed = again.state.messages(conv).at(-1)!;
    expect([failed.clientMsgId, failed.status, failed.error?.code]).toEqual([
      tooLong.clientMsgId,
      'failed',
      'body_too_large',
    ]);

    // Discarded: gone from the view and from storage.
    expect(await again.client.discard(tooLong.clientMsgId)).toBe(true);
    expect(again.state.messages(conv).some((m) => m.status === 'failed')).toBe(false);
    expect(await storage.load()).toEqual([]);
    expect(await again.client.discard(tooLong.clientMsgId)).toBe(false);
    again.state.close();
    again.client.close();
  });

  it('retry sends a refused message again with its client_msg_id: refused while not a member, stored once after being added', async () => {
    const [owner, alice] = [uid('owner'), uid('alice')];
    const group = await createGroup(server.httpUrl, owner, [], 'later');
    const storage = new MemoryOutboxStorage();
    const a = await live(alice, storage);
    const o = await live(owner);

    const entry = await a.client.send(group, 'let me in');
    await until(() => a.state.messages(group).at(-1)?.status === 'failed');
    expect(a.state.messages(group).at(-1)?.error?.code).toBe('not_found');
    expect((await storage.load()).map((e) => e.state)).toEqual(['failed']);

    const added = await api(server.httpUrl, 'POST', `/v1/conversations/${group}/members`, {
      token: await signToken(owner),
      body: { user_id: alice },
    });
    expect(added.status).toBe(200);
    expect(await a.client.retry(entry.clientMsgId)).toBe(true);
    expect(a.state.messages(group).at(-1)?.status).toBe('sending');
    await until(() => o.events.some((e) => e.kind === 'message' && e.body === 'let me in'));
    await until(() => a.state.messages(group).at(-1)?.seq != null);
    const stored = o.events.filter((e) => e.kind === 'message');
    expect(stored.map((e) => [e.client_msg_id, e.sender_id])).toEqual([[entry.clientMsgId, alice]]);
    expect(await storage.load()).toEqual([]);
    expect(await a.client.retry(entry.clientMsgId)).toBe(false);
    for (const user of [a, o]) {
      user.state.close();
      user.client.close();
    }
  });
});
