import { rm } from 'node:fs/promises';
import type { ChatEvent, ServerPingFrame } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientState } from '../../../client/src/index.js';
import { type RunningNatter, startNatter } from '../../src/app.js';
import { LossyBus } from '../helpers/bus.js';
import { closeAll, expectFrame, TestClient } from '../helpers/client.js';
import { createGroup, makeDataDir, uid, until } from '../helpers/server.js';
import {
  CLUSTER_TIMINGS,
  clusterServices,
  inProcessNodeConfig,
  sdkReader,
  useClusterBackends,
} from './cluster-harness.js';
import { logViolations, orderedStreamViolations } from './history-checker.js';

/**
 * The live path may lose frames; the log and the heartbeat must make up for it. Three nodes run in
 * this process (child processes cannot have their bus tampered with), each behind a LossyBus that
 * drops what a test tells it to.
 */

const adminUrl = await clusterServices('the cluster healing tests');

interface LossyNode {
  natter: RunningNatter;
  bus: LossyBus;
}

describe.runIf(adminUrl !== null)('healing a lossy live path', () => {
  const backends = useClusterBackends(adminUrl ?? '');
  const nodes: LossyNode[] = [];
  let dataDir = '';
  const node = (i: number): LossyNode => {
    const found = nodes[i];
    if (!found) throw new Error(`no node ${i}`);
    return found;
  };

  beforeAll(async () => {
    dataDir = await makeDataDir();
    for (let i = 0; i < 3; i++) {
      let bus: LossyBus | undefined;
      const natter = await startNatter(inProcessNodeConfig(backends, dataDir, i), {
        wrapBus: (inner) => {
          bus = new LossyBus(inner);
          return bus;
        },
      });
      if (!bus) throw new Error('the node did not open a bus');
      nodes.push({ natter, bus });
    }
  }, 30_000);

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.natter.close()));
    await rm(dataDir, { recursive: true, force: true });
  }, 20_000);

  it('an online client whose pushes are all dropped gets every event within a heartbeat, without reconnecting', async () => {
    const sender = uid('sender');
    const reader = uid('reader');
    const conv = await createGroup(node(0).natter.httpUrl, sender, [reader]);
    const s0 = await TestClient.open(node(0).natter.wsUrl, { user: sender });
    const raw2 = await TestClient.open(node(2).natter.wsUrl, { user: reader }, { deviceId: 'raw' });
    const { client: sdk } = sdkReader(node(2).natter.wsUrl, reader, conv);
    const states: ClientState[] = [];
    const received: Array<{ event: ChatEvent; at: number }> = [];
    sdk.on('state', (state) => states.push(state));
    sdk.on('event', (event) => {
      if (event.conversation_id === conv && event.kind === 'message')
        received.push({ event, at: Date.now() });
    });
    try {
      await sdk.connect();
      await until(() => sdk.state === 'live');
      const tokenBefore = expectFrame(await raw2.sync(), 'sync_result').token;
      const statesBefore = states.length;
      const dropsBefore = node(0).bus.dropped;
      node(0).bus.shouldDrop = (target) => target === 'node-2';

      const acks: Array<{ seq: number; at: number }> = [];
      for (let i = 0; i < 5; i++)
        acks.push({ seq: (await s0.sendOk(conv, `lost push ${i}`)).seq, at: Date.now() });
      const afterAcks = raw2.mark();
      await until(() => received.length === acks.length, 5_000);
      // The longest any one message took from its ack to the SDK.
      const healMs = Math.max(...received.map((r, i) => r.at - (acks[i]?.at ?? Number.NaN)));

      expect(received.map((r) => r.event.seq)).toEqual(acks.map((a) => a.seq));
      // The pushes really were lost: node 0 dropped them, and the raw socket on node 2 saw none.
      expect(node(0).bus.dropped - dropsBefore).toBeGreaterThanOrEqual(acks.length);
      expect(raw2.liveEvents(conv).filter((e) => e.kind === 'message')).toEqual([]);
      // What it did get is a ping whose change token moved: that is what the SDK acted on.
      const ping = await raw2.waitFor<ServerPingFrame>((f) => f.type === 'ping', { from: afterAcks });
      expect(ping.token).not.toBe(tokenBefore);
      // One heartbeat interval, plus the sync's round trip and the server's heartbeat tick.
      expect(healMs).toBeLessThan(CLUSTER_TIMINGS.pingIntervalMs + 400);
      // Healed in place: the socket stayed up (live -> syncing -> live at most), never reopened.
      expect(states.slice(statesBefore).filter((s) => s !== 'syncing' && s !== 'live')).toEqual([]);
      console.info(`healed ${acks.length} dropped pushes, each within ${healMs} ms of its ack`);
    } finally {
      node(0).bus.shouldDrop = () => false;
      sdk.close();
      await closeAll([s0, raw2]);
    }
  });

  it('with a third of all bus messages dropped, SDK readers on every node still see the whole log in order', async () => {
    const senderIds = [uid('s0'), uid('s1'), uid('s2')];
    const readerIds = [uid('r0'), uid('r1'), uid('r2')];
    const conv = await createGroup(node(0).natter.httpUrl, senderIds[0]!, [
      ...senderIds.slice(1),
      ...readerIds,
    ]);
    const senders = await Promise.all(
      senderIds.map((u, i) => TestClient.open(node(i).natter.wsUrl, { user: u })),
    );
    const readers = readerIds.map((u, i) => sdkReader(node(i).natter.wsUrl, u, conv));
    // Deterministic, so that a failure replays: every third publish of each node is lost.
    const counters = nodes.map(() => 0);
    nodes.forEach((n, i) => {
      n.bus.shouldDrop = () => ++counters[i]! % 3 === 0;
    });
    try {
      await Promise.all(readers.map((r) => r.client.connect()));
      await until(() => readers.every((r) => r.client.state === 'live'));
      const acked = new Map<string, number>();
      await Promise.all(
        senders.map(async (sender, s) => {
          for (let i = 0; i < 15; i++) {
            const clientMsgId = `${senderIds[s]}-${i}`;
            acked.set(clientMsgId, (await sender.sendOk(conv, `lossy ${i}`, clientMsgId)).seq);
          }
        }),
      );
      const lastSeq = Math.max(...acked.values());
      await until(() => readers.every((r) => r.events.at(-1)?.seq === lastSeq), 5_000);
      const history = await senders[0]!.fullHistory(conv);
      expect(nodes.reduce((dropped, n) => dropped + n.bus.dropped, 0)).toBeGreaterThan(0);
      expect([
        ...logViolations(history, acked),
        ...readers.flatMap((r, i) => orderedStreamViolations(`SDK reader on node-${i}`, r.events, history)),
      ]).toEqual([]);
    } finally {
      for (const n of nodes) n.bus.shouldDrop = () => false;
      for (const r of readers) r.client.close();
      await closeAll(senders);
    }
  });

  it('publishes one bus message per target node per event, however many members and devices live there', async () => {
    const sender = uid('sender');
    const onNode1 = [uid('a'), uid('b')];
    const onNode2 = [uid('c'), uid('d')];
    const conv = await createGroup(node(0).natter.httpUrl, sender, [...onNode1, ...onNode2]);
    const s0 = await TestClient.open(node(0).natter.wsUrl, { user: sender });
    const clients = await Promise.all([
      ...onNode1.map((u) => TestClient.open(node(1).natter.wsUrl, { user: u })),
      TestClient.open(node(1).natter.wsUrl, { user: onNode1[0]! }, { deviceId: 'second' }),
      ...onNode2.map((u) => TestClient.open(node(2).natter.wsUrl, { user: u })),
    ]);
    try {
      const before = node(0).bus.published.length;
      const acks = [];
      for (let i = 0; i < 3; i++) acks.push(await s0.sendOk(conv, `fan-out ${i}`));
      await until(() =>
        clients.every((c) => c.liveEvents(conv).filter((e) => e.kind === 'message').length === 3),
      );
      const published = node(0)
        .bus.published.slice(before)
        .filter((p) => p.payload.includes(`"type":"event"`));
      expect(published.map((p) => p.nodeId).sort()).toEqual([
        'node-1',
        'node-1',
        'node-1',
        'node-2',
        'node-2',
        'node-2',
      ]);
      for (const ack of acks) {
        const carrying = published.filter((p) => p.payload.includes(`"seq":${ack.seq},`));
        expect(carrying.map((p) => p.nodeId).sort()).toEqual(['node-1', 'node-2']);
      }
    } finally {
      await closeAll([s0, ...clients]);
    }
  });
});
