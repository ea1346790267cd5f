import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { ChatEvent, PresenceUpdateFrame, ServerFrame } from '@natter/protocol';
import { describe, expect, it } from 'vitest';
import { closeAll, expectFrame, TestClient } from '../helpers/client.js';
import { freePort, REPO_ROOT } from '../helpers/process.js';
import { api, createDirect, createGroup, signToken, uid } from '../helpers/server.js';
import { CLUSTER_TIMINGS, clusterServices, useChildCluster, useClusterBackends } from './cluster-harness.js';

/**
 * Three node processes on one PostgreSQL and one Redis, clients spread across them: whatever node a
 * client lands on, it hears what its conversations' members do on the others, and a member
 * removed on one node hears nothing more from any.
 */

const adminUrl = await clusterServices('the cluster tests');

/** The machine may be busy (these tests share it): waits are generous, and cost nothing when met. */
const PATIENT = { timeoutMs: 10_000 };

const isEvent = (conversationId: string, predicate: (e: ChatEvent) => boolean) => (f: ServerFrame) =>
  f.type === 'event' && f.event.conversation_id === conversationId && predicate(f.event);
const isBody = (conversationId: string, body: string) => isEvent(conversationId, (e) => e.body === body);

describe.runIf(adminUrl !== null)('a cluster of three nodes', () => {
  const backends = useClusterBackends(adminUrl ?? '');
  const cluster = useChildCluster(backends, 3);
  const node = (i: number) => {
    const found = cluster.nodes[i];
    if (!found) throw new Error(`no node ${i}`);
    return found;
  };

  it('delivers a 1:1 message to the peer on another node and to the sender’s devices on a third', async () => {
    const alice = uid('alice');
    const bob = uid('bob');
    const conv = await createDirect(node(0).httpUrl, alice, bob);
    const a0 = await TestClient.open(node(0).wsUrl, { user: alice });
    const a2 = await TestClient.open(node(2).wsUrl, { user: alice }, { deviceId: 'phone' });
    const b1 = await TestClient.open(node(1).wsUrl, { user: bob });
    const b2 = await TestClient.open(node(2).wsUrl, { user: bob }, { deviceId: 'tablet' });
    try {
      const ack = await a0.sendOk(conv, 'hello across nodes');
      for (const c of [a2, b1, b2]) {
        const frame = await c.waitFor(isBody(conv, 'hello across nodes'), {
          ...PATIENT,
          label: 'cross-node 1:1',
        });
        expect(expectFrame(frame, 'event').event.seq).toBe(ack.seq);
      }
      // The sending connection has its ack; the event is not echoed to it.
      expect(a0.liveEvents(conv).some((e) => e.body === 'hello across nodes')).toBe(false);
      const reply = await b2.sendOk(conv, 'hi from node 2');
      await a0.waitFor(isBody(conv, 'hi from node 2'), { ...PATIENT, label: 'reply on node 0' });
      expect(reply.seq).toBe(ack.seq + 1);
    } finally {
      await closeAll([a0, a2, b1, b2]);
    }
  });

  it('delivers group messages sent on every node to members on every node', async () => {
    const members = [uid('g0'), uid('g1'), uid('g2')] as const;
    const conv = await createGroup(node(1).httpUrl, members[0], [members[1], members[2]]);
    const clients = await Promise.all(members.map((m, i) => TestClient.open(node(i).wsUrl, { user: m })));
    try {
      for (const [i, sender] of clients.entries()) {
        const body = `from node ${i}`;
        await sender.sendOk(conv, body);
        const others = clients.filter((c) => c !== sender);
        await Promise.all(others.map((c) => c.waitFor(isBody(conv, body), { ...PATIENT, label: body })));
      }
      for (const c of clients) expect(c.liveEvents(conv).filter((e) => e.kind === 'message')).toHaveLength(2);
    } finally {
      await closeAll(clients);
    }
  });

  it('a member removed on one node hears no message, receipt or typing of the conversation after it, from any node', async () => {
    const owner = uid('owner');
    const talker = uid('talker');
    const removed = uid('removed');
    const conv = await createGroup(node(0).httpUrl, owner, [talker, removed]);
    const talkerOn2 = await TestClient.open(node(2).wsUrl, { user: talker });
    const removedOn0 = await TestClient.open(node(0).wsUrl, { user: removed });
    const ownerOn1 = await TestClient.open(node(1).wsUrl, { user: owner });
    try {
      // Node 2 routes an event while `removed` is a member, so its membership cache holds them.
      await talkerOn2.sendOk(conv, 'before');
      await removedOn0.waitFor(isBody(conv, 'before'), { ...PATIENT, label: 'before the removal' });
      talkerOn2.sendJson({ type: 'typing', conversation_id: conv, state: 'start' });
      await removedOn0.waitFor((f) => f.type === 'typing' && f.conversation_id === conv, {
        ...PATIENT,
        label: 'typing before the removal',
      });

      // The removal commits on node 1, which node 2 does not hear of.
      const removal = await api<{ seq: number }>(
        node(1).httpUrl,
        'DELETE',
        `/v1/conversations/${conv}/members/${removed}`,
        {
          token: await signToken(owner),
        },
      );
      expect(removal.status).toBe(200);
      await removedOn0.waitFor(
        isEvent(conv, (e) => e.kind === 'member_removed'),
        { ...PATIENT, label: 'own removal' },
      );
      const after = removedOn0.mark();
      const ownerAfter = ownerOn1.mark();

      // Node 2 has routed nothing since: its cache still lists `removed` as a member.
      const ownerAck = await ownerOn1.sendOk(conv, 'after, from node 1');
      await talkerOn2.waitFor(isBody(conv, 'after, from node 1'), {
        ...PATIENT,
        label: 'talker hears the owner',
      });
      await talkerOn2.request({ type: 'receipt', conversation_id: conv, kind: 'read', seq: ownerAck.seq });
      talkerOn2.sendJson({ type: 'typing', conversation_id: conv, state: 'start' });
      await ownerOn1.waitFor(
        (f) => f.type === 'receipt' && f.conversation_id === conv && f.user_id === talker,
        {
          ...PATIENT,
          from: ownerAfter,
          label: 'owner hears the receipt',
        },
      );
      await ownerOn1.waitFor(
        (f) => f.type === 'typing' && f.conversation_id === conv && f.state === 'start',
        {
          ...PATIENT,
          from: ownerAfter,
          label: 'owner hears the typing',
        },
      );
      // A message committed on node 2 now skips the seqs committed on node 1: node 2 reloads.
      const ack = await talkerOn2.sendOk(conv, 'after, from node 2');
      await ownerOn1.waitFor(isBody(conv, 'after, from node 2'), {
        ...PATIENT,
        from: ownerAfter,
        label: 'owner hears node 2',
      });

      const leaked = await removedOn0.collectFor(
        (f) => 'conversation_id' in f && f.conversation_id === conv,
        CLUSTER_TIMINGS.pingIntervalMs,
        after,
      );
      expect(leaked).toEqual([]);
      expect(removal.body.seq).toBeLessThan(ack.seq);
    } finally {
      await closeAll([talkerOn2, removedOn0, ownerOn1]);
    }
  });

  it('needs no sticky sessions: through the round-robin TCP balancer, clients land on every node and talk', async () => {
    const port = await freePort();
    const backends = cluster.nodes.map((n) => `127.0.0.1:${n.port}`);
    const balancer = spawn(process.execPath, ['scripts/tcp-balancer.mjs', String(port), ...backends], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const members = [uid('lb0'), uid('lb1'), uid('lb2')] as const;
    const clients: TestClient[] = [];
    try {
      await once(balancer.stderr, 'data');
      const conv = await createGroup(`http://127.0.0.1:${port}`, members[0], [members[1], members[2]]);
      const openBefore = await Promise.all(cluster.nodes.map((n) => openConnections(n.httpUrl)));
      for (const m of members) clients.push(await TestClient.open(`ws://127.0.0.1:${port}/ws`, { user: m }));
      const openAfter = await Promise.all(cluster.nodes.map((n) => openConnections(n.httpUrl)));
      // Three new TCP connections in turn: one on each node.
      expect(openAfter.map((count, i) => count - (openBefore[i] ?? 0))).toEqual([1, 1, 1]);
      for (const [i, sender] of clients.entries()) {
        await sender.sendOk(conv, `through the balancer ${i}`);
        const others = clients.filter((c) => c !== sender);
        await Promise.all(others.map((c) => c.waitFor(isBody(conv, `through the balancer ${i}`), PATIENT)));
      }
    } finally {
      await closeAll(clients);
      balancer.kill('SIGTERM');
    }
  });

  it('logging out on one node closes that session’s sockets on every node', async () => {
    const username = `logout_${uid('u').slice(2, 10)}`;
    const password = 'a long enough password';
    const registered = await api(node(0).httpUrl, 'POST', '/v1/accounts', { body: { username, password } });
    expect(registered.status).toBe(201);
    const login = () =>
      api<{ token: string }>(node(1).httpUrl, 'POST', '/v1/sessions', { body: { username, password } });
    const session = (await login()).body.token;
    const other = (await login()).body.token;
    const onNodes = await Promise.all([1, 2].map((i) => TestClient.open(node(i).wsUrl, { token: session })));
    const otherOn2 = await TestClient.open(node(2).wsUrl, { token: other });
    try {
      const out = await api(node(0).httpUrl, 'DELETE', '/v1/sessions/current', { token: session });
      expect(out.status).toBe(204);
      for (const c of onNodes) expect((await c.waitClosed(PATIENT.timeoutMs)).code).toBe(4003);
      await otherOn2.pingPong();
    } finally {
      await closeAll([...onNodes, otherOn2]);
    }
  });

  it('shows presence across nodes: online when a peer connects elsewhere, offline with last seen when they leave', async () => {
    const watcher = uid('watcher');
    const friend = uid('friend');
    await createDirect(node(0).httpUrl, watcher, friend);
    const w0 = await TestClient.open(node(0).wsUrl, { user: watcher });
    try {
      const subscribed = expectFrame(
        await w0.request({ type: 'presence_subscribe', user_ids: [friend] }),
        'presence_result',
      );
      expect(subscribed.presence).toEqual([expect.objectContaining({ user_id: friend, online: false })]);
      const f1 = await TestClient.open(node(1).wsUrl, { user: friend });
      const f2 = await TestClient.open(node(2).wsUrl, { user: friend });
      const isFriend = (online: boolean) => (f: ServerFrame) =>
        f.type === 'presence' && f.user_id === friend && f.online === online;
      await w0.waitFor(isFriend(true), { ...PATIENT, label: 'friend online' });
      // Their connection on node 2 keeps them online when the one on node 1 closes.
      const beforeClose = w0.mark();
      await f1.close();
      await f2.pingPong();
      expect(await w0.collectFor(isFriend(false), 300, beforeClose)).toEqual([]);
      const closedAt = Date.now();
      await f2.close();
      const off = await w0.waitFor<PresenceUpdateFrame>(isFriend(false), {
        ...PATIENT,
        from: beforeClose,
        label: 'offline',
      });
      expect(off.last_seen).toBeGreaterThanOrEqual(closedAt - 1_000);
      const asked = expectFrame(
        await w0.request({ type: 'presence_subscribe', user_ids: [friend] }),
        'presence_result',
      );
      expect(asked.presence).toEqual([
        expect.objectContaining({ user_id: friend, online: false, last_seen: off.last_seen }),
      ]);
    } finally {
      await closeAll([w0]);
    }
  });

  it('forwards typing to members on other nodes, and ends it there when the message commits', async () => {
    const typist = uid('typist');
    const reader = uid('reader');
    const conv = await createDirect(node(0).httpUrl, typist, reader);
    const t0 = await TestClient.open(node(0).wsUrl, { user: typist });
    const r1 = await TestClient.open(node(1).wsUrl, { user: reader });
    try {
      const isTyping = (state: 'start' | 'stop') => (f: ServerFrame) =>
        f.type === 'typing' && f.conversation_id === conv && f.user_id === typist && f.state === state;
      t0.sendJson({ type: 'typing', conversation_id: conv, state: 'start' });
      await r1.waitFor(isTyping('start'), { ...PATIENT, label: 'typing start on node 1' });
      const mark = r1.mark();
      await t0.sendOk(conv, 'done typing');
      await r1.waitFor(isTyping('stop'), { ...PATIENT, from: mark, label: 'typing stop on node 1' });
      expect(t0.frames.some((f) => f.type === 'typing')).toBe(false);
    } finally {
      await closeAll([t0, r1]);
    }
  });
});

/** A node's open WebSocket connections, from its metrics. */
async function openConnections(httpUrl: string): Promise<number> {
  const metrics = await (await fetch(`${httpUrl}/metrics`)).text();
  const line = metrics.split('\n').find((l) => l.startsWith('natter_connections{state="open"}'));
  return Number(line?.split(' ')[1] ?? 0);
}
