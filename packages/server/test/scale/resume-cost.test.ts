import type { SyncResultFrame } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/client.js';
import { api, signToken, startTestServer, type TestServer, uid } from '../helpers/server.js';

const CONVERSATIONS = 1000;

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.dispose();
});

describe('resume cost follows what changed, not how many conversations a user has', () => {
  it(`a user with ${CONVERSATIONS} conversations and 3 changed ones gets exactly those 3 back`, async () => {
    const me = uid('busy');
    const token = await signToken(me);
    const peers = Array.from({ length: CONVERSATIONS }, (_, i) => uid(`peer${i}`));
    const ids: string[] = [];
    for (let i = 0; i < peers.length; i += 100) {
      const created = await Promise.all(
        peers.slice(i, i + 100).map((peer) =>
          api<{ conversation: { conversation_id: string } }>(
            server.httpUrl,
            'POST',
            '/v1/conversations/direct',
            {
              token,
              body: { user_id: peer },
            },
          ),
        ),
      );
      for (const res of created) {
        expect(res.status, res.text).toBe(200);
        ids.push(res.body.conversation.conversation_id);
      }
    }
    expect(new Set(ids).size).toBe(CONVERSATIONS);

    const client = await TestClient.open(server.wsUrl, { token });
    const listed = new Set<string>();
    let page = await client.request<SyncResultFrame>({ type: 'sync' });
    let pages = 1;
    for (;;) {
      expect(page.type).toBe('sync_result');
      expect(page.events).toEqual([]);
      for (const c of page.conversations) listed.add(c.conversation_id);
      if (!page.has_more) break;
      page = await client.request<SyncResultFrame>({ type: 'sync', since: page.token });
      pages += 1;
    }
    expect(listed.size).toBe(CONVERSATIONS);
    expect(pages).toBeGreaterThan(1);
    const token0 = page.token;
    client.close();

    const changed = [3, 500, 999];
    for (const i of changed) {
      const peer = await TestClient.open(server.wsUrl, { user: peers[i]! });
      await peer.sendOk(ids[i]!, `hello from ${i}`);
      peer.close();
    }

    const back = await TestClient.open(server.wsUrl, { token });
    const resumed = await back.request<SyncResultFrame>({ type: 'sync', since: token0 });
    expect(resumed.has_more).toBe(false);
    expect(resumed.conversations.map((c) => c.conversation_id).sort()).toEqual(
      changed.map((i) => ids[i]!).sort(),
    );
    expect(resumed.events.map((e) => e.body).sort()).toEqual(changed.map((i) => `hello from ${i}`).sort());
    for (const c of resumed.conversations) expect(c.unread).toBe(1);

    const again = await back.request<SyncResultFrame>({ type: 'sync', since: resumed.token });
    expect(again.conversations).toEqual([]);
    expect(again.events).toEqual([]);
    back.close();
  });
});
