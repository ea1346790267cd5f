import { rm } from 'node:fs/promises';
import type { ConversationSummary, EventFrame, ServerFrame, ServerPingFrame } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNatter, startNatter } from '../../src/app.js';
import { LossyBus } from '../helpers/bus.js';
import { sendMessage } from '../helpers/chat-requests.js';
import { closeAll, expectAck, TestClient } from '../helpers/client.js';
import { api, makeDataDir, signToken, uid } from '../helpers/server.js';
import { resume } from '../helpers/sync.js';
import {
  CLUSTER_TIMINGS,
  clusterServices,
  inProcessNodeConfig,
  useClusterBackends,
} from './cluster-harness.js';

/**
 * A channel post in a cluster: one bus message per other live node, whatever the number of members
 * there (each node routes it to its own online members), never to a removed member; and a dropped
 * one heals through the heartbeat token. Three nodes in this process, each channel bus behind a
 * LossyBus that counts and drops what a test tells it to.
 */

const adminUrl = await clusterServices('the cluster channel tests');

interface ChannelNode {
  natter: RunningNatter;
  channelBus: LossyBus;
}

const isEventAt = (conv: string, seq: number) => (f: ServerFrame) =>
  f.type === 'event' && f.event.conversation_id === conv && f.event.seq === seq;

describe.runIf(adminUrl !== null)('channels across nodes', () => {
  const backends = useClusterBackends(adminUrl ?? '');
  const nodes: ChannelNode[] = [];
  let dataDir = '';
  const node = (i: number): ChannelNode => {
    const found = nodes[i];
    if (!found) throw new Error(`no node ${i}`);
    return found;
  };

  beforeAll(async () => {
    dataDir = await makeDataDir();
    for (let i = 0; i < 3; i++) {
      let channelBus: LossyBus | undefined;
      const natter = await startNatter(inProcessNodeConfig(backends, dataDir, i), {
        wrapChannelBus: (inner) => {
          channelBus = new LossyBus(inner);
          return channelBus;
        },
      });
      if (!channelBus) throw new Error('the node did not open a channel bus');
      nodes.push({ natter, channelBus });
    }
    // Each node knows the others once a heartbeat has read the live nodes.
    await new Promise((resolve) => setTimeout(resolve, CLUSTER_TIMINGS.clusterHeartbeatMs * 3));
  }, 30_000);

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.natter.close()));
    await rm(dataDir, { recursive: true, force: true });
  }, 20_000);

  async function createChannel(owner: string, members: string[]): Promise<string> {
    const res = await api<{ conversation: ConversationSummary }>(
      node(0).natter.httpUrl,
      'POST',
      '/v1/conversations',
      { token: await signToken(owner), body: { title: 'all-hands', member_ids: members, kind: 'channel' } },
    );
    expect(res.status).toBe(201);
    return res.body.conversation.conversation_id;
  }

  it('publishes a post once per other node, reaches every online member, and not a removed one', async () => {
    const owner = uid('owner');
    const readers = Array.from({ length: 6 }, (_, i) => uid(`reader${i}`));
    const conv = await createChannel(owner, readers);
    const poster = await TestClient.open(node(0).natter.wsUrl, { user: owner });
    // Three readers on node 1, three on node 2.
    const sockets = await Promise.all(
      readers.map((user, i) => TestClient.open(node(1 + (i % 2)).natter.wsUrl, { user })),
    );
    try {
      const before = node(0).channelBus.published.length;
      const post = expectAck(await sendMessage(poster, conv, 'to everyone'));
      for (const socket of sockets) await socket.waitFor(isEventAt(conv, post.seq));
      const published = node(0).channelBus.published.slice(before);
      expect(published.map((p) => p.nodeId).sort()).toEqual(['node-1', 'node-2']);

      // Removed on node 0; the removed reader, on node 1, gets the removal and nothing after it.
      const removed = readers[0]!;
      const res = await api<{ seq: number }>(
        node(0).natter.httpUrl,
        'DELETE',
        `/v1/conversations/${conv}/members/${removed}`,
        { token: await signToken(owner) },
      );
      await sockets[0]!.waitFor(isEventAt(conv, res.body.seq));
      const mark = sockets[0]!.mark();
      const after = expectAck(await sendMessage(poster, conv, 'after the removal'));
      for (const socket of sockets.slice(1)) await socket.waitFor(isEventAt(conv, after.seq));
      await sockets[0]!.pingPong();
      const leaked = sockets[0]!.frames.slice(mark).filter((f) => f.type === 'event');
      expect(leaked).toEqual([]);
    } finally {
      await closeAll([poster, ...sockets]);
    }
  });

  it('heals a channel post whose bus message to a node was dropped, within a heartbeat', async () => {
    const [owner, reader] = [uid('owner'), uid('reader')];
    const conv = await createChannel(owner, [reader]);
    const poster = await TestClient.open(node(0).natter.wsUrl, { user: owner });
    const far = await TestClient.open(node(2).natter.wsUrl, { user: reader });
    try {
      const base = await resume(far, null);
      node(0).channelBus.shouldDrop = (nodeId) => nodeId === 'node-2';
      const post = expectAck(await sendMessage(poster, conv, 'lost on the bus'));
      expect(node(0).channelBus.dropped).toBeGreaterThan(0);
      const ping = await far.waitFor<ServerPingFrame>((f) => f.type === 'ping' && f.token !== base.token);
      const healed = await resume(far, base.token);
      expect(healed.events.map((e) => [e.conversation_id, e.seq, e.body])).toEqual([
        [conv, post.seq, 'lost on the bus'],
      ]);
      expect(healed.token).toBe(ping.token);
      expect(far.frames.some((f) => isEventAt(conv, post.seq)(f))).toBe(false);
    } finally {
      node(0).channelBus.shouldDrop = () => false;
      await closeAll([poster, far]);
    }
  });

  it('a member added on another node while online there gets the next post live', async () => {
    const [owner, joiner] = [uid('owner'), uid('joiner')];
    const conv = await createChannel(owner, []);
    const poster = await TestClient.open(node(0).natter.wsUrl, { user: owner });
    const joinerSocket = await TestClient.open(node(1).natter.wsUrl, { user: joiner });
    try {
      const res = await api<{ seq: number }>(
        node(2).natter.httpUrl,
        'POST',
        `/v1/conversations/${conv}/members`,
        {
          token: await signToken(owner),
          body: { user_id: joiner },
        },
      );
      await joinerSocket.waitFor(isEventAt(conv, res.body.seq));
      const post = expectAck(await sendMessage(poster, conv, 'welcome aboard'));
      const got = await joinerSocket.waitFor<EventFrame>(isEventAt(conv, post.seq));
      expect(got.event.body).toBe('welcome aboard');
    } finally {
      await closeAll([poster, joinerSocket]);
    }
  });
});
