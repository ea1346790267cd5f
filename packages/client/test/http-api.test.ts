import { NatterError } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type TestServer, until } from '../../server/test/helpers/server.js';
import { NatterClient, NatterHttp } from '../src/index.js';
import type { WebSocketLike } from '../src/socket.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.dispose();
});

async function signedIn(username: string) {
  let token: string | undefined;
  const http = new NatterHttp(server.httpUrl, () => token);
  await http.register(username, 'correct horse battery');
  const session = await http.login(username, 'correct horse battery');
  token = session.token;
  return { http, session };
}

describe('NatterHttp with built-in accounts', () => {
  it('registers, logs in, finds a 1:1 by username, manages a group, and reports errors by code', async () => {
    const alice = await signedIn('alice_http');
    const bob = await signedIn('bob_http');
    const carol = await signedIn('carol_http');

    const direct = await alice.http.direct({ username: 'bob_http' });
    expect(direct.peer_id).toBe(bob.session.user_id);
    expect((await alice.http.direct({ userId: bob.session.user_id })).conversation_id).toBe(
      direct.conversation_id,
    );

    const group = await alice.http.createGroup('Trip', [bob.session.user_id]);
    await alice.http.addMember(group.conversation_id, carol.session.user_id);
    await alice.http.setRole(group.conversation_id, bob.session.user_id, 'admin');
    await alice.http.rename(group.conversation_id, 'Trip 2027');
    await bob.http.removeMember(group.conversation_id, carol.session.user_id);
    const { conversation, members } = await alice.http.conversation(group.conversation_id);
    expect(conversation.title).toBe('Trip 2027');
    expect(Object.fromEntries(members.map((m) => [m.user_id, m.role]))).toEqual({
      [alice.session.user_id]: 'owner',
      [bob.session.user_id]: 'admin',
    });
    const history = await alice.http.history(group.conversation_id, undefined, 3);
    expect(history.events.map((e) => e.kind)).toEqual(['role_changed', 'renamed', 'member_removed']);
    expect(history.has_more).toBe(true);

    const taken = await new NatterHttp(server.httpUrl)
      .register('ALICE_http', 'another password')
      .catch((e) => e);
    expect(taken).toBeInstanceOf(NatterError);
    expect((taken as NatterError).code).toBe('username_taken');
    const outsider = await carol.http.conversation(group.conversation_id).catch((e) => e);
    expect((outsider as NatterError).code).toBe('not_found');
  });

  it('finds people, renames you, and uploads, fetches and removes your avatar', async () => {
    const ada = await signedIn('ada_people_http');
    const grace = await signedIn('grace_people_http');
    expect(await grace.http.setDisplayName('Grace Hopper')).toMatchObject({ display_name: 'Grace Hopper' });
    await ada.http.direct({ userId: grace.session.user_id });

    const found = await ada.http.searchUsers('hopp');
    expect(found).toEqual([
      {
        user_id: grace.session.user_id,
        username: 'grace_people_http',
        display_name: 'Grace Hopper',
        avatar: null,
        contact: true,
      },
    ]);
    const short = await ada.http.searchUsers('h').catch((e) => e);
    expect((short as NatterError).code).toBe('bad_request');

    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const withAvatar = await grace.http.setAvatar(new Blob([png]));
    expect(withAvatar.avatar).toEqual(expect.any(String));
    const image = await ada.http.avatar(grace.session.user_id);
    expect(image?.type).toBe('image/png');
    expect(new Uint8Array(await image!.arrayBuffer())).toEqual(png);
    expect((await grace.http.removeAvatar()).avatar).toBeNull();
    expect(await ada.http.avatar(grace.session.user_id)).toBeNull();
    const refused = await grace.http.setAvatar(new Uint8Array([1, 2, 3])).catch((e) => e);
    expect((refused as NatterError).code).toBe('bad_request');
  });

  it('a session token drives the WebSocket client, and logging out closes it for good', async () => {
    const { http, session } = await signedIn('dora_http');
    const client = new NatterClient({
      url: server.wsUrl,
      token: session.token,
      webSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
    });
    const fatal: string[] = [];
    client.on('fatal', (error) => fatal.push(error.code));
    await client.connect();
    await until(() => client.state === 'live');
    expect(client.me).toBe(session.user_id);
    await http.logout();
    await until(() => client.state === 'closed');
    expect(client.state).toBe('closed');
    expect(fatal).toEqual(['token_expired']);
  });
});
