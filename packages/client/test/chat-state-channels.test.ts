import { mayPost } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, uid, until } from '../../server/test/helpers/server.js';
import { liveDevice } from './live-device.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.dispose();
});

describe('channels in ChatState, over real sockets', () => {
  it('folds a channel: its kind and posting policy, live posts, and a policy change as a notice', async () => {
    const [owner, reader] = [uid('owner'), uid('reader')];
    const admin = await liveDevice(server, owner);
    const member = await liveDevice(server, reader);
    const channel = await admin.http.createChannel('releases', [reader], 'admins');
    const id = channel.conversation_id;
    await until(() => member.state.conversation(id) !== undefined);
    const seen = member.state.conversation(id)!;
    expect(seen).toMatchObject({ kind: 'channel', posting: 'admins', role: 'member' });
    expect(mayPost(seen)).toBe(false);
    expect(mayPost(admin.state.conversation(id) ?? channel)).toBe(true);

    await admin.client.send(id, 'v1.0 is out');
    await until(() => member.state.messages(id).length === 1);
    expect(member.state.messages(id)[0]?.body).toBe('v1.0 is out');
    expect(member.state.conversation(id)?.unread).toBe(1);

    await admin.http.setPosting(id, 'everyone');
    await until(() => member.state.conversation(id)?.posting === 'everyone');
    expect(mayPost(member.state.conversation(id)!)).toBe(true);
    const notice = member.state
      .timeline(id)
      .find((item) => item.type === 'notice' && item.notice.kind === 'settings_changed');
    expect(notice).toMatchObject({ notice: { posting: 'everyone', actorId: owner } });

    for (const device of [admin, member]) {
      device.state.close();
      device.client.close();
    }
  });
});
