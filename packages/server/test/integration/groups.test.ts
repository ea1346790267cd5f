import type { ChatEvent, ConversationSummary, MemberInfo } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/client.js';
import { api, signToken, startTestServer, type TestServer, uid } from '../helpers/server.js';

describe('group conversations: create, members, roles, rename', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const call = async <T = unknown>(user: string, method: string, path: string, body?: unknown) =>
    api<T>(server.httpUrl, method, path, { token: await signToken(user), body });

  async function makeGroup() {
    const owner = uid('owner');
    const admin = uid('admin');
    const member = uid('member');
    const res = await call<{ conversation: ConversationSummary }>(owner, 'POST', '/v1/conversations', {
      title: 'team',
      member_ids: [admin, member],
    });
    expect(res.status).toBe(201);
    const conv = res.body.conversation.conversation_id;
    const promote = await call<{ seq: number }>(
      owner,
      'PATCH',
      `/v1/conversations/${conv}/members/${admin}`,
      {
        role: 'admin',
      },
    );
    expect(promote.status).toBe(200);
    return { owner, admin, member, conv, created: res.body.conversation };
  }

  it('create: creator is owner, members listed, seq 1 is created', async () => {
    const { owner, admin, member, conv, created } = await makeGroup();
    expect(created).toMatchObject({ kind: 'group', title: 'team', role: 'owner', member_count: 3 });
    const info = await call<{ conversation: ConversationSummary; members: MemberInfo[] }>(
      member,
      'GET',
      `/v1/conversations/${conv}`,
    );
    expect(info.status).toBe(200);
    const roles = Object.fromEntries(info.body.members.map((m) => [m.user_id, m.role]));
    expect(roles).toEqual({ [owner]: 'owner', [admin]: 'admin', [member]: 'member' });
    expect(info.body.conversation.role).toBe('member');
    const ev = await call<{ events: ChatEvent[] }>(member, 'GET', `/v1/conversations/${conv}/events`);
    expect(ev.status).toBe(200);
    expect(ev.body.events[0]).toMatchObject({ seq: 1, kind: 'created', sender_id: owner });
    const list = await call<{ conversations: ConversationSummary[] }>(admin, 'GET', '/v1/conversations');
    expect(list.body.conversations.map((c) => c.conversation_id)).toContain(conv);
  });

  it("a new group's created event is pushed to every founding member's connections, the creator's too", async () => {
    const [owner, member] = [uid('owner'), uid('member')];
    const sockets = await Promise.all([owner, member].map((user) => TestClient.open(server.wsUrl, { user })));
    try {
      const res = await call<{ conversation: ConversationSummary }>(owner, 'POST', '/v1/conversations', {
        title: 'pushed',
        member_ids: [member],
      });
      const conv = res.body.conversation.conversation_id;
      for (const socket of sockets) {
        const pushed = await socket.waitFor((f) => f.type === 'event' && f.event.conversation_id === conv);
        expect(pushed).toMatchObject({
          event: { seq: 1, kind: 'created', sender_id: owner, data: { title: 'pushed' } },
        });
      }
    } finally {
      for (const socket of sockets) await socket.close();
    }
  });

  it('add / remove: admins and owners may, members get forbidden', async () => {
    const { owner, admin, member, conv } = await makeGroup();
    const newcomer = uid('new');
    const denied = await call<{ error: { code: string } }>(
      member,
      'POST',
      `/v1/conversations/${conv}/members`,
      {
        user_id: newcomer,
      },
    );
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('forbidden');
    const added = await call<{ seq: number }>(admin, 'POST', `/v1/conversations/${conv}/members`, {
      user_id: newcomer,
    });
    expect(added.status).toBe(200);
    expect(typeof added.body.seq).toBe('number');
    const kick = await call<{ error: { code: string } }>(
      member,
      'DELETE',
      `/v1/conversations/${conv}/members/${newcomer}`,
    );
    expect(kick.status).toBe(403);
    // an admin cannot remove the owner
    const kickOwner = await call(admin, 'DELETE', `/v1/conversations/${conv}/members/${owner}`);
    expect(kickOwner.status).toBe(403);
    const removed = await call<{ seq: number }>(
      owner,
      'DELETE',
      `/v1/conversations/${conv}/members/${newcomer}`,
    );
    expect(removed.status).toBe(200);
    expect(removed.body.seq).toBe(added.body.seq + 1);
    const ev = await call<{ events: ChatEvent[] }>(owner, 'GET', `/v1/conversations/${conv}/events`);
    const bySeq = new Map(ev.body.events.map((e) => [e.seq, e] as const));
    expect(bySeq.get(added.body.seq)).toMatchObject({ kind: 'member_added', data: { user_id: newcomer } });
    expect(bySeq.get(removed.body.seq)).toMatchObject({
      kind: 'member_removed',
      data: { user_id: newcomer },
    });
    const info = await call<{ members: MemberInfo[] }>(owner, 'GET', `/v1/conversations/${conv}`);
    expect(info.body.members.map((m) => m.user_id)).not.toContain(newcomer);
  });

  it('leave: a member removes themself with member_left and then cannot read', async () => {
    const { member, owner, conv } = await makeGroup();
    const left = await call<{ seq: number }>(member, 'DELETE', `/v1/conversations/${conv}/members/${member}`);
    expect(left.status).toBe(200);
    const ev = await call<{ events: ChatEvent[] }>(owner, 'GET', `/v1/conversations/${conv}/events`);
    expect(ev.body.events.find((e) => e.seq === left.body.seq)).toMatchObject({
      kind: 'member_left',
      data: { user_id: member },
    });
    const c = await TestClient.open(server.wsUrl, { user: member });
    try {
      const f = await c.send(conv, 'still here?');
      expect(f).toMatchObject({ type: 'error', code: 'not_found' });
    } finally {
      await c.close();
    }
  });

  it('rename: admin/owner only; renamed event in the log', async () => {
    const { admin, member, conv } = await makeGroup();
    const denied = await call(member, 'PATCH', `/v1/conversations/${conv}`, { title: 'mine now' });
    expect(denied.status).toBe(403);
    const ok = await call<{ conversation: ConversationSummary }>(
      admin,
      'PATCH',
      `/v1/conversations/${conv}`,
      {
        title: 'renamed team',
      },
    );
    expect(ok.status).toBe(200);
    expect(ok.body.conversation.title).toBe('renamed team');
    const ev = await call<{ events: ChatEvent[] }>(member, 'GET', `/v1/conversations/${conv}/events`);
    expect(ev.body.events.at(-1)).toMatchObject({
      kind: 'renamed',
      sender_id: admin,
      data: { title: 'renamed team' },
    });
    const bad = await call(admin, 'PATCH', `/v1/conversations/${conv}`, { title: '' });
    expect(bad.status).toBe(400);
  });

  it('roles: only the owner changes roles; role_changed in the log and pushed live', async () => {
    const { owner, admin, member, conv } = await makeGroup();
    const byAdmin = await call(admin, 'PATCH', `/v1/conversations/${conv}/members/${member}`, {
      role: 'admin',
    });
    expect(byAdmin.status).toBe(403);
    const byMember = await call(member, 'PATCH', `/v1/conversations/${conv}/members/${admin}`, {
      role: 'member',
    });
    expect(byMember.status).toBe(403);
    const watcher = await TestClient.open(server.wsUrl, { user: member });
    try {
      const ok = await call<{ seq: number }>(owner, 'PATCH', `/v1/conversations/${conv}/members/${member}`, {
        role: 'admin',
      });
      expect(ok.status).toBe(200);
      const ev = await watcher.waitFor((f) => f.type === 'event' && f.event.seq === ok.body.seq);
      expect(ev).toMatchObject({ event: { kind: 'role_changed', data: { user_id: member, role: 'admin' } } });
      // the new admin can now add people
      const added = await call(member, 'POST', `/v1/conversations/${conv}/members`, { user_id: uid('x') });
      expect(added.status).toBe(200);
    } finally {
      await watcher.close();
    }
  });

  it('HTTP validation and auth: bad body 400, missing token 401', async () => {
    const owner = uid('owner');
    const bad = await call<{ error: { code: string; message: string; retryable: boolean } }>(
      owner,
      'POST',
      '/v1/conversations',
      { title: 5 },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'bad_request', retryable: false });
    expect(typeof bad.body.error.message).toBe('string');
    const anon = await api<{ error: { code: string } }>(server.httpUrl, 'GET', '/v1/conversations');
    expect(anon.status).toBe(401);
    expect(anon.body.error.code).toBe('unauthenticated');
    const forged = await api(server.httpUrl, 'GET', '/v1/conversations', {
      token: await signToken(owner, { secret: 'some-other-secret-0123456789' }),
    });
    expect(forged.status).toBe(401);
  });

  it('duplicate member ids and re-adding a member never duplicate a membership', async () => {
    const owner = uid('owner');
    const b = uid('b');
    const res = await call<{ conversation: ConversationSummary }>(owner, 'POST', '/v1/conversations', {
      title: 'dupes',
      member_ids: [b, b, owner],
    });
    expect(res.status).toBe(201);
    expect(res.body.conversation.member_count).toBe(2);
    const conv = res.body.conversation.conversation_id;
    const again = await call(owner, 'POST', `/v1/conversations/${conv}/members`, { user_id: b });
    expect(again.status).toBeLessThan(500);
    const info = await call<{ conversation: ConversationSummary; members: MemberInfo[] }>(
      owner,
      'GET',
      `/v1/conversations/${conv}`,
    );
    expect(info.body.members.map((m) => m.user_id).sort()).toEqual([owner, b].sort());
    expect(info.body.conversation.member_count).toBe(2);
    expect(info.body.members.find((m) => m.user_id === owner)?.role).toBe('owner');
  });
});
