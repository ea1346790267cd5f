import { randomUUID } from 'node:crypto';
import type { ConversationSummary, EventFrame } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendMessage } from '../helpers/chat-requests.js';
import { closeAll, expectAck, expectError, TestClient } from '../helpers/client.js';
import { reachablePostgres, useTestDatabase } from '../helpers/postgres.js';
import {
  api,
  createDirect,
  createGroup,
  signToken,
  startTestServer,
  type TestServer,
  uid,
} from '../helpers/server.js';

const adminUrl = await reachablePostgres('the group-mentions tests on PostgreSQL');

/**
 * Admins and owners may reserve `@all` / `@here` in a group for themselves: a `settings_changed`
 * event tells every member, the summary shows the policy, and a plain member's `@all` is refused.
 */
describe.each([
  ['SQLite', false],
  ['PostgreSQL', true],
] as const)('group mentions policy (%s)', (_, postgres) => {
  const database = postgres && adminUrl !== null ? useTestDatabase(adminUrl) : null;
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(database ? { store: 'postgres', databaseUrl: database.url } : {});
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const patch = async (actor: string, conversation: string, body: unknown) =>
    api<{ conversation?: ConversationSummary; code?: string }>(
      server.httpUrl,
      'PATCH',
      `/v1/conversations/${conversation}`,
      { token: await signToken(actor), body },
    );
  const send = (client: TestClient, conversation: string, mentions: string[]) =>
    sendMessage(client, conversation, 'heads up', { mentions });

  it.skipIf(postgres && adminUrl === null)(
    'only admins and owners set it; then only they may mention @all or @here',
    async () => {
      const [owner, member] = [uid('owner'), uid('member')];
      const group = await createGroup(server.httpUrl, owner, [member]);
      const o = await TestClient.open(server.wsUrl, { user: owner });
      const m = await TestClient.open(server.wsUrl, { user: member });
      try {
        expect((await patch(member, group, { group_mentions: 'admins' })).status).toBe(403);
        expectAck(await send(m, group, ['@all']));

        const set = await patch(owner, group, { group_mentions: 'admins' });
        expect(set.status).toBe(200);
        expect(set.body.conversation?.group_mentions).toBe('admins');
        const told = await m.waitFor<EventFrame>(
          (f) => f.type === 'event' && f.event.kind === 'settings_changed',
        );
        expect(told.event.data).toEqual({ group_mentions: 'admins' });
        // Setting it again changes nothing and appends nothing.
        const last = told.event.seq;
        await patch(owner, group, { group_mentions: 'admins' });
        const again = await api<{ conversation: ConversationSummary }>(
          server.httpUrl,
          'GET',
          `/v1/conversations/${group}`,
          { token: await signToken(member) },
        );
        expect(again.body.conversation.group_mentions).toBe('admins');
        expect(again.body.conversation.last_seq).toBe(last);

        for (const everyone of ['@all', '@here'])
          expect(expectError(await send(m, group, [everyone]), 'forbidden').message).toContain('@all');
        expectAck(await send(m, group, [owner]));
        expectAck(await send(o, group, ['@here']));

        expect((await patch(owner, group, { group_mentions: 'anyone' })).status).toBe(200);
        expectAck(await send(m, group, ['@all']));
        expect((await patch(owner, group, { group_mentions: 'everyone' })).status).toBe(400);
        expect((await patch(owner, group, {})).status).toBe(400);
      } finally {
        await closeAll([o, m]);
      }
    },
  );

  it.skipIf(postgres && adminUrl === null)(
    'a direct conversation has no policy to set, and a stranger learns nothing',
    async () => {
      const [alice, bob, stranger] = [uid('alice'), uid('bob'), uid('stranger')];
      const direct = await createDirect(server.httpUrl, alice, bob);
      const group = await createGroup(server.httpUrl, alice, [bob]);
      expect((await patch(alice, direct, { group_mentions: 'admins' })).status).toBe(403);
      const strangers = await patch(stranger, group, { group_mentions: 'admins' });
      const missing = await patch(stranger, `c_${randomUUID().slice(0, 16)}`, { group_mentions: 'admins' });
      expect(strangers.status).toBe(404);
      expect(strangers.body).toEqual(missing.body);
    },
  );
});
