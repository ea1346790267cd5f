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
import { liveDevice } from './live-device.js';

let server: TestServer;

beforeAll(async () => {
  // A heartbeat far beyond the test: a summary refreshed by a resync cannot hide a stale fold.
  server = await startTestServer({ pingIntervalMs: 600_000, pingTimeoutMs: 1_200_000 });
});

afterAll(async () => {
  await server?.dispose();
});

function live(user: string) {
  return liveDevice(server, user, { members: true });
}

describe('ChatState keeps a group’s summary current as its membership changes live', () => {
  it('the member count, the title and your role follow the events at once, without a resync', async () => {
    const [alice, bob, carol, dan] = [uid('alice'), uid('bob'), uid('carol'), uid('dan')];
    const group = await createGroup(server.httpUrl, alice, [bob, carol], 'plans');
    const b = await live(bob);
    await until(() => b.state.conversation(group) !== undefined);
    expect(b.state.conversation(group)?.member_count).toBe(3);
    const asAlice = { token: await signToken(alice) };

    await api(server.httpUrl, 'POST', `/v1/conversations/${group}/members`, {
      ...asAlice,
      body: { user_id: dan },
    });
    await until(() =>
      b.state.timeline(group).some((i) => i.type === 'notice' && i.notice.kind === 'member_added'),
    );
    expect(b.state.conversation(group)?.member_count).toBe(4);

    await api(server.httpUrl, 'DELETE', `/v1/conversations/${group}/members/${carol}`, asAlice);
    await api(server.httpUrl, 'DELETE', `/v1/conversations/${group}/members/${dan}`, {
      token: await signToken(dan),
    });
    await api(server.httpUrl, 'PATCH', `/v1/conversations/${group}`, {
      ...asAlice,
      body: { title: 'new plans' },
    });
    await api(server.httpUrl, 'PATCH', `/v1/conversations/${group}/members/${bob}`, {
      ...asAlice,
      body: { role: 'admin' },
    });
    await until(() => b.state.conversation(group)?.role === 'admin');
    expect(b.state.conversation(group)).toMatchObject({ member_count: 2, title: 'new plans', role: 'admin' });
    await until(() => b.state.membersOf(group)?.length === 2);
    expect(b.state.membersOf(group)?.map((m) => m.userId)).toEqual([alice, bob]);
    b.state.close();
    b.client.close();
  });
});
