import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintApiKey } from '../../src/auth/api-keys.js';
import { TestClient } from '../helpers/client.js';
import { api, signToken, startTestServer, type TestServer, uid } from '../helpers/server.js';

/** The server API over real HTTP: API keys refused or admitted by scope, and each route. */
describe('server API (/v1/server)', () => {
  const full = mintApiKey('backend', ['users', 'conversations', 'messages']);
  const usersOnly = mintApiKey('provisioning', ['users']);
  const revoked = mintApiKey('old', ['users', 'conversations', 'messages']);
  let server: TestServer;

  beforeAll(async () => {
    // `revoked` was minted but its entry removed from the setting: that is how a key is revoked.
    server = await startTestServer({ serverApiKeys: [full.entry, usersOnly.entry] });
  });
  afterAll(() => server.dispose());

  const call = (method: string, path: string, key: string | undefined, body?: unknown) =>
    api<Record<string, unknown>>(server.httpUrl, method, path, {
      ...(key === undefined ? {} : { token: key }),
      ...(body === undefined ? {} : { body }),
    });

  it('refuses a missing, invalid, revoked or under-scoped key', async () => {
    const body = { user_id: uid() };
    expect((await call('POST', '/v1/server/users', undefined, body)).status).toBe(401);
    const invalid = await call('POST', '/v1/server/users', 'nsk_not-a-key', body);
    expect([invalid.status, (invalid.body.error as { code: string }).code]).toEqual([401, 'auth_failed']);
    expect((await call('POST', '/v1/server/users', revoked.key, body)).status).toBe(401);
    // A user's own token is no API key.
    expect((await call('POST', '/v1/server/users', await signToken(uid()), body)).status).toBe(401);
    const scoped = await call('POST', '/v1/server/conversations', usersOnly.key, {
      creator_id: body.user_id,
      title: 't',
    });
    expect([scoped.status, (scoped.body.error as { code: string }).code]).toEqual([403, 'forbidden']);
    expect((await call('POST', '/v1/server/users', usersOnly.key, body)).status).toBe(201);
  });

  it('creates a broadcast channel for a backend: its members may read, only its owner post', async () => {
    const [owner, reader] = [uid('owner'), uid('reader')];
    for (const user of [owner, reader]) await call('POST', '/v1/server/users', full.key, { user_id: user });
    const created = await call('POST', '/v1/server/conversations', full.key, {
      creator_id: owner,
      title: 'Status',
      member_ids: [reader],
      kind: 'channel',
      posting: 'admins',
    });
    expect(created.status).toBe(201);
    expect(created.body.conversation).toMatchObject({ kind: 'channel', posting: 'admins', role: 'owner' });
    const id = (created.body.conversation as { conversation_id: string }).conversation_id;
    const byReader = await call('POST', `/v1/server/conversations/${id}/messages`, full.key, {
      sender_id: reader,
      client_msg_id: 'r-1',
      body: 'may I?',
    });
    expect([byReader.status, (byReader.body.error as { code: string }).code]).toEqual([
      403,
      'posting_restricted',
    ]);
    const byOwner = await call('POST', `/v1/server/conversations/${id}/messages`, full.key, {
      sender_id: owner,
      client_msg_id: 'o-1',
      body: 'All systems normal',
    });
    expect(byOwner.status).toBe(200);
    const group = await call('POST', '/v1/server/conversations', full.key, {
      creator_id: owner,
      title: 'g',
      posting: 'admins',
    });
    expect(group.status).toBe(400);
  });

  it('creates users and a group, manages members, sends idempotently and reads history', async () => {
    const [alice, bob, carol] = [uid('alice'), uid('bob'), uid('carol')];
    for (const user of [alice, bob, carol]) {
      const created = await call('POST', '/v1/server/users', full.key, { user_id: user, display_name: user });
      expect(created.status).toBe(201);
    }
    const group = await call('POST', '/v1/server/conversations', full.key, {
      creator_id: alice,
      title: 'Support',
      member_ids: [bob],
    });
    expect(group.status).toBe(201);
    const id = (group.body.conversation as { conversation_id: string }).conversation_id;

    const added = await call('POST', `/v1/server/conversations/${id}/members`, full.key, {
      actor_id: alice,
      user_id: carol,
    });
    expect(added.status).toBe(200);
    // Membership rules are the chat service's: bob (a member) may not remove carol.
    const refused = await call(
      'DELETE',
      `/v1/server/conversations/${id}/members/${carol}?actor_id=${bob}`,
      full.key,
    );
    expect(refused.status).toBe(403);

    const send = { sender_id: bob, client_msg_id: 'order-1', body: 'Your order shipped' };
    const first = await call('POST', `/v1/server/conversations/${id}/messages`, full.key, send);
    const again = await call('POST', `/v1/server/conversations/${id}/messages`, full.key, send);
    expect(first.status).toBe(200);
    expect(first.body.duplicate).toBe(false);
    expect(again.body).toMatchObject({ seq: first.body.seq, duplicate: true, client_msg_id: 'order-1' });

    const removed = await call(
      'DELETE',
      `/v1/server/conversations/${id}/members/${carol}?actor_id=${alice}`,
      full.key,
    );
    expect(removed.status).toBe(200);
    // A removed member cannot send, and a stranger cannot read: not found and forbidden look alike.
    const late = await call('POST', `/v1/server/conversations/${id}/messages`, full.key, {
      sender_id: carol,
      client_msg_id: 'late',
      body: 'hi',
    });
    expect(late.status).toBe(404);
    const stranger = await call('GET', `/v1/server/conversations/${id}/events?user_id=${uid()}`, full.key);
    expect(stranger.status).toBe(404);

    const history = await call('GET', `/v1/server/conversations/${id}/events?user_id=${alice}`, full.key);
    expect(history.status).toBe(200);
    const messages = (
      history.body.events as Array<{ kind: string; body?: string; sender_id: string }>
    ).filter((event) => event.kind === 'message');
    expect(messages).toEqual([expect.objectContaining({ body: 'Your order shipped', sender_id: bob })]);
  });

  it('creates a bot that people see marked as one, and can unmark it', async () => {
    const [bot, person, viewer] = [uid('bot'), uid('person'), uid('viewer')];
    const created = await call('POST', '/v1/server/users', full.key, {
      user_id: bot,
      display_name: 'Order Desk',
      bot: true,
    });
    expect(created.status).toBe(201);
    // People are looked up by id only by those who share a conversation with them.
    const group = await call('POST', '/v1/server/conversations', full.key, {
      creator_id: viewer,
      title: 'Orders',
      member_ids: [bot, person],
    });
    expect(group.status).toBe(201);
    const viewerToken = await signToken(viewer);
    const lookup = async () => {
      const answer = await api<{ users: Array<Record<string, unknown>> }>(
        server.httpUrl,
        'POST',
        '/v1/users/lookup',
        { token: viewerToken, body: { user_ids: [bot, person] } },
      );
      return Object.fromEntries(answer.body.users.map((p) => [p.user_id, p]));
    };
    const profiles = await lookup();
    expect(profiles[bot]).toMatchObject({ display_name: 'Order Desk', bot: true });
    expect(profiles[person]).toBeDefined();
    expect(profiles[person]).not.toHaveProperty('bot');
    // A retried create that leaves `bot` out changes nothing; `bot: false` unmarks.
    await call('POST', '/v1/server/users', full.key, { user_id: bot });
    expect((await lookup())[bot]).toMatchObject({ bot: true });
    await call('POST', '/v1/server/users', full.key, { user_id: bot, bot: false });
    expect((await lookup())[bot]).not.toHaveProperty('bot');
    const bad = await call('POST', '/v1/server/users', full.key, { user_id: bot, bot: 'yes' });
    expect(bad.status).toBe(400);
  });

  it("revokes a user's sessions and closes the sockets opened with them", async () => {
    const username = `rv_${uid().slice(2, 10)}`;
    const password = 'correct horse battery';
    expect((await api(server.httpUrl, 'POST', '/v1/accounts', { body: { username, password } })).status).toBe(
      201,
    );
    const session = await api<{ token: string; user_id: string }>(server.httpUrl, 'POST', '/v1/sessions', {
      body: { username, password },
    });
    expect((await api(server.httpUrl, 'GET', '/v1/me', { token: session.body.token })).status).toBe(200);
    const socket = await TestClient.open(server.wsUrl, { token: session.body.token });
    const path = `/v1/server/users/${session.body.user_id}/sessions/revoke`;
    expect((await call('POST', path, usersOnly.key)).body).toEqual({ revoked: 1 });
    expect(await socket.waitClosed()).toMatchObject({ code: 4003 });
    const after = await api<{ error: { code: string } }>(server.httpUrl, 'GET', '/v1/me', {
      token: session.body.token,
    });
    expect([after.status, after.body.error.code]).toEqual([401, 'token_expired']);
  });

  it('validates bodies with a clear error', async () => {
    const bad = await call('POST', `/v1/server/conversations/c/messages`, full.key, { body: 'no sender' });
    expect([bad.status, (bad.body.error as { code: string }).code]).toEqual([400, 'bad_request']);
  });
});

describe('server API OpenAPI document', () => {
  it('is served without a key and carries the schemas the routes validate with', async () => {
    const server = await startTestServer();
    try {
      const doc = await api<{
        openapi: string;
        paths: Record<string, Record<string, { parameters: Array<{ name: string; required: boolean }> }>>;
        components: {
          schemas: Record<string, { required?: string[]; properties?: Record<string, unknown> }>;
        };
      }>(server.httpUrl, 'GET', '/v1/server/openapi.json');
      expect(doc.status).toBe(200);
      expect(doc.body.openapi).toBe('3.1.0');
      expect(Object.keys(doc.body.paths)).toContain('/v1/server/conversations/{id}/messages');
      expect(Object.keys(doc.body.paths)).toContain(
        '/v1/server/webhooks/{id}/deliveries/{deliveryId}/replay',
      );
      expect(doc.body.components.schemas.ServerCreateWebhookBody!.required).toEqual(['url', 'events']);
      const send = doc.body.components.schemas.ServerSendBody!;
      expect(send.required).toEqual(expect.arrayContaining(['sender_id', 'client_msg_id', 'body']));
      const history = doc.body.paths['/v1/server/conversations/{id}/events']!.get!;
      expect(history.parameters).toContainEqual(expect.objectContaining({ name: 'user_id', required: true }));
      // Every $ref resolves inside the document.
      const text = JSON.stringify(doc.body);
      for (const [, name] of text.matchAll(/"#\/components\/schemas\/([^"]+)"/g))
        expect(doc.body.components.schemas, name).toHaveProperty([name!]);
    } finally {
      await server.dispose();
    }
  });
});
