import { randomUUID } from 'node:crypto';
import type { ConversationSummary } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, expectFrame, TestClient } from '../helpers/client.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

type ErrorBody = { error: { code: string; message: string; retryable: boolean } };
type Session = { token: string; user_id: string; expires_at: number | string };

describe('built-in accounts, sessions and logout', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ passwordHashCost: 10 });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const username = () => `user_${randomUUID().slice(0, 8)}`;
  const register = (name: string, password = 'correct horse battery') =>
    api<{ user_id: string; username: string } & ErrorBody>(server.httpUrl, 'POST', '/v1/accounts', {
      body: { username: name, password },
    });
  const login = (name: string, password = 'correct horse battery') =>
    api<Session & ErrorBody>(server.httpUrl, 'POST', '/v1/sessions', { body: { username: name, password } });

  it('register 201, duplicate username 409 username_taken, invalid body 400', async () => {
    const name = username();
    const r = await register(name);
    expect(r.status).toBe(201);
    expect(r.body.username).toBe(name);
    expect(typeof r.body.user_id).toBe('string');
    const dup = await register(name);
    expect(dup.status).toBe(409);
    expect(dup.body.error).toMatchObject({ code: 'username_taken', retryable: false });
    const short = await register(username(), 'short');
    expect(short.status).toBe(400);
    expect(short.body.error.code).toBe('bad_request');
    const badName = await register('no spaces allowed');
    expect(badName.status).toBe(400);
  });

  it('login 201 with a token usable on HTTP and WebSocket; wrong password 401 invalid_credentials', async () => {
    const name = username();
    const reg = await register(name);
    const s = await login(name);
    expect(s.status).toBe(201);
    expect(s.body.user_id).toBe(reg.body.user_id);
    expect(typeof s.body.token).toBe('string');
    expect(s.body.expires_at).toBeTruthy();
    const wrong = await login(name, 'wrong password!');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_credentials');
    const nobody = await login(username());
    expect(nobody.status).toBe(401);
    expect(nobody.body.error.code).toBe('invalid_credentials');
    expect(nobody.body.error.message).toBe(wrong.body.error.message);

    const list = await api<{ conversations: unknown[] }>(server.httpUrl, 'GET', '/v1/conversations', {
      token: s.body.token,
    });
    expect(list.status).toBe(200);
    const c = await TestClient.open(server.wsUrl, { token: s.body.token });
    expect(c.ready?.user_id).toBe(reg.body.user_id);
    await c.close();
  });

  it('direct conversation by username between two accounts', async () => {
    const n1 = username();
    const n2 = username();
    const u1 = await register(n1);
    const u2 = await register(n2);
    const s1 = await login(n1);
    const d = await api<{ conversation: ConversationSummary }>(
      server.httpUrl,
      'POST',
      '/v1/conversations/direct',
      {
        token: s1.body.token,
        body: { username: n2 },
      },
    );
    expect(d.status).toBe(200);
    expect(d.body.conversation.peer_id).toBe(u2.body.user_id);
    const byId = await api<{ conversation: ConversationSummary }>(
      server.httpUrl,
      'POST',
      '/v1/conversations/direct',
      {
        token: s1.body.token,
        body: { user_id: u2.body.user_id },
      },
    );
    expect(byId.body.conversation.conversation_id).toBe(d.body.conversation.conversation_id);
    expect(u1.body.user_id).not.toBe(u2.body.user_id);
    const missing = await api<ErrorBody>(server.httpUrl, 'POST', '/v1/conversations/direct', {
      token: s1.body.token,
      body: { username: username() },
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('user_not_found');
  });

  it('logout (DELETE /v1/sessions/current) closes that token’s sockets with 4003 and revokes it; other sessions live on', async () => {
    const name = username();
    await register(name);
    const s1 = (await login(name)).body;
    const s2 = (await login(name)).body;
    expect(s1.token).not.toBe(s2.token);
    const a = await TestClient.open(server.wsUrl, { token: s1.token });
    const b = await TestClient.open(server.wsUrl, { token: s1.token });
    const other = await TestClient.open(server.wsUrl, { token: s2.token });
    try {
      const out = await api(server.httpUrl, 'DELETE', '/v1/sessions/current', { token: s1.token });
      expect(out.status).toBe(204);
      expect((await a.waitClosed()).code).toBe(4003);
      expect((await b.waitClosed()).code).toBe(4003);
      await other.pingPong();
      expect(other.isOpen).toBe(true);
      // the revoked token no longer works anywhere
      const http = await api(server.httpUrl, 'GET', '/v1/conversations', { token: s1.token });
      expect(http.status).toBe(401);
      const again = await TestClient.connect(server.wsUrl);
      const answer = await again.auth(s1.token);
      expect(answer.type).toBe('error');
      expect([4001, 4003]).toContain((await again.waitClosed()).code);
      // the other session still works over HTTP
      const ok = await api(server.httpUrl, 'GET', '/v1/conversations', { token: s2.token });
      expect(ok.status).toBe(200);
      expectFrame(await other.sync(), 'sync_result');
    } finally {
      await closeAll([a, b, other]);
    }
  });

  it('registration can be closed', async () => {
    const closedServer = await startTestServer({ registration: 'closed' });
    try {
      const r = await api<ErrorBody>(closedServer.httpUrl, 'POST', '/v1/accounts', {
        body: { username: username(), password: 'long enough password' },
      });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('registration_closed');
    } finally {
      await closedServer.dispose();
    }
  });
});
