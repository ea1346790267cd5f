import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  createGroup,
  signToken,
  startTestServer,
  type TestServer,
  uid,
  until,
} from '../../server/test/helpers/server.js';
import type { ChatState } from '../src/index.js';
import { liveDevice } from './live-device.js';

let server: TestServer;

beforeAll(async () => {
  // A heartbeat far beyond the test: the other device must learn of the hide from the live frame.
  server = await startTestServer({ pingIntervalMs: 600_000, pingTimeoutMs: 1_200_000 });
});

afterAll(async () => {
  await server?.dispose();
});

function live(user: string) {
  return liveDevice(server, user);
}

const listed = (state: ChatState) => state.conversations().map((c) => c.conversation_id);

describe('hiding a group you left, over real sockets', () => {
  it('drops it from both of your devices at once, and being added again brings it back', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const group = await createGroup(server.httpUrl, alice, [bob], 'old plans');
    const kept = await createGroup(server.httpUrl, alice, [bob], 'kept');
    const [phone, laptop] = [await live(bob), await live(bob)];
    await until(() => listed(laptop.state).length === 2);

    await expect(phone.client.hideConversation(group)).rejects.toMatchObject({ code: 'not_found' });
    await api(server.httpUrl, 'DELETE', `/v1/conversations/${group}/members/${bob}`, {
      token: await signToken(bob),
    });

    await phone.client.hideConversation(group);
    await until(() => listed(laptop.state).length === 1);
    expect(listed(laptop.state)).toEqual([kept]);
    await until(() => listed(phone.state).length === 1);
    expect(listed(phone.state)).toEqual([kept]);
    // Idempotent: hiding again is fine and changes nothing.
    await phone.client.hideConversation(group);
    expect(listed(phone.state)).toEqual([kept]);

    await api(server.httpUrl, 'POST', `/v1/conversations/${group}/members`, {
      token: await signToken(alice),
      body: { user_id: bob },
    });
    await until(() => listed(laptop.state).length === 2 && listed(phone.state).length === 2);
    expect(laptop.state.conversation(group)?.left_seq).toBeNull();
    for (const device of [phone, laptop]) {
      device.state.close();
      device.client.close();
    }
  });

  it('refuses a current member and a stranger alike, telling them nothing', async () => {
    const [alice, bob, eve] = [uid('alice'), uid('bob'), uid('eve')];
    const group = await createGroup(server.httpUrl, alice, [bob], 'secret');
    const [member, stranger] = [await live(bob), await live(eve)];
    const refusals = await Promise.all(
      [member, stranger].map((d) => d.client.hideConversation(group).catch((e: unknown) => e)),
    );
    const missing = await stranger.client.hideConversation('c_0000000000000000').catch((e: unknown) => e);
    for (const refusal of refusals) {
      expect(refusal).toMatchObject({ code: 'not_found', message: (missing as Error).message });
    }
    expect(listed(member.state)).toEqual([group]);
    for (const device of [member, stranger]) {
      device.state.close();
      device.client.close();
    }
  });
});
