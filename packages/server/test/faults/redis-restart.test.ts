import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerFrame } from '@natter/protocol';
import { describe, expect, it } from 'vitest';
import {
  CLUSTER_TIMINGS,
  type SdkReader,
  sdkReader,
  useClusterBackends,
} from '../cluster/cluster-harness.js';
import { logViolations, orderedStreamViolations } from '../cluster/history-checker.js';
import { closeAll, TestClient } from '../helpers/client.js';
import { createGroup, uid, until } from '../helpers/server.js';
import { startRedis, stopRedis } from '../helpers/services.js';
import {
  faultServices,
  isReady,
  leaveServicesRunning,
  messagesOf,
  startSdkLoad,
  timeUntil,
  useFaultCluster,
} from './fault-harness.js';

/**
 * Redis (registry, bus, presence) goes away under load, with every key, and comes back empty. It
 * holds nothing durable: sends go on being acked from PostgreSQL, what the bus could not carry
 * reaches readers through the heartbeat's change token, and once Redis is back the nodes re-arm
 * their registry entries and subscriptions by themselves, so live pushes resume without a restart.
 */

const services = faultServices('the Redis restart fault tests');

const OUTAGE_MS = 2_000;
const PACE_MS = 25;

describe.runIf(services !== null)('Redis restarted under load', () => {
  leaveServicesRunning(services);
  const backends = useClusterBackends(services?.postgres.url ?? '');
  const cluster = useFaultCluster(backends, 2);

  it('acks go on, readers heal through the outage, and live pushes resume afterwards, with no node restarted', async () => {
    const nodes = cluster.nodes;
    const senderIds = [uid('sender0'), uid('sender1')];
    const readerIds = [uid('reader0'), uid('reader1')];
    const rawIds = [uid('raw0'), uid('raw1')];
    const proberIds = [uid('prober0'), uid('prober1')];
    const conv = await createGroup(nodes[0]!.httpUrl, senderIds[0]!, [
      senderIds[1]!,
      ...readerIds,
      ...rawIds,
      ...proberIds,
    ]);
    const sdks: Array<SdkReader & { name: string }> = [];
    const raw: TestClient[] = [];
    try {
      for (const [i, node] of nodes.entries()) {
        for (const [name, userId] of [
          [`sender${i}`, senderIds[i]!],
          [`reader${i}`, readerIds[i]!],
        ] as const) {
          sdks.push({ ...sdkReader(node.wsUrl, userId, conv), name });
        }
      }
      await Promise.all(sdks.map((s) => s.client.connect()));
      await until(() => sdks.every((s) => s.client.state === 'live'));
      // Raw sockets (no SDK: nothing syncs for them) see only what is pushed live.
      const rawReaders = await Promise.all(
        nodes.map((n, i) => TestClient.open(n.wsUrl, { user: rawIds[i]! })),
      );
      const probers = await Promise.all(
        nodes.map((n, i) => TestClient.open(n.wsUrl, { user: proberIds[i]! })),
      );
      raw.push(...rawReaders, ...probers);

      const senders = sdks.filter((s) => s.name.startsWith('sender'));
      const load = startSdkLoad(senders, conv, { paceMs: PACE_MS, perSender: 10_000 });
      await until(() => load.acked.size >= 20, 10_000);

      let readyDuringOutage: boolean[] = [];
      await stopRedis(services!.redis);
      const down = Date.now();
      await sleep(OUTAGE_MS / 2);
      readyDuringOutage = await Promise.all(nodes.map((n) => isReady(n.httpUrl)));
      await sleep(OUTAGE_MS / 2);
      await startRedis(services!.redis);
      const outage = { down, up: Date.now() };

      // Live delivery across nodes comes back: a probe sent on one node is pushed to the other's
      // raw socket. Recovery is from Redis answering again to the first probe pushed across.
      let probe = 0;
      const pushedAcross = async (from: number, to: number, timeoutMs: number): Promise<boolean> => {
        const body = `probe ${probe++}`;
        const mark = rawReaders[to]!.mark();
        await probers[from]!.sendOk(conv, body);
        const isProbe = (f: ServerFrame) => f.type === 'event' && f.event.body === body;
        return rawReaders[to]!.waitFor(isProbe, { from: mark, timeoutMs }).then(
          () => true,
          () => false,
        );
      };
      await timeUntil(
        'a probe is pushed from node-0 to node-1 again',
        () => pushedAcross(0, 1, 250),
        10_000,
        0,
      );
      const recoveryMs = Date.now() - outage.up;
      // Each node's subscriber reconnects on its own schedule: the other direction comes back too.
      await timeUntil(
        'a probe is pushed from node-1 to node-0 again',
        () => pushedAcross(1, 0, 250),
        10_000,
        0,
      );
      // And keeps coming, both ways.
      for (let i = 0; i < 3; i++) {
        expect(await pushedAcross(0, 1, 2_000)).toBe(true);
        expect(await pushedAcross(1, 0, 2_000)).toBe(true);
      }
      const readyAgainMs = await timeUntil(
        'every node is ready again',
        async () => (await Promise.all(nodes.map((n) => isReady(n.httpUrl)))).every(Boolean),
        10_000,
      );

      await load.stop();
      await until(() => load.acked.size === load.sent.length, 10_000);
      const history = await probers[0]!.fullHistory(conv);
      const lastSeq = history.at(-1)!.seq;
      await until(() => sdks.every((s) => s.events.at(-1)?.seq === lastSeq), 10_000);

      // The probers' messages are in the log too; their acks are checked as the load's are.
      const acked = new Map(load.acked);
      for (const p of probers)
        for (const f of p.frames) if (f.type === 'ack') acked.set(f.client_msg_id, f.seq);
      expect(load.failed).toEqual([]);
      expect([
        ...logViolations(history, acked),
        ...sdks.flatMap((s) => orderedStreamViolations(`SDK ${s.name}`, s.events, history)),
      ]).toEqual([]);
      const ackedInOutage = [...load.ackedAt.values()].filter((at) => at > outage.down && at < outage.up);
      // Sends were acked while Redis was down (from PostgreSQL alone)...
      expect(ackedInOutage.length).toBeGreaterThan(OUTAGE_MS / PACE_MS / 2);
      // ...readiness said so meanwhile, and the nodes never went down.
      expect(readyDuringOutage).toEqual([false, false]);
      for (const n of nodes) expect(n.proc.exitCode).toBeNull();
      console.info(
        `Redis restart: ${messagesOf(history).length} messages, ${ackedInOutage.length} acked during a ` +
          `${outage.up - outage.down} ms outage; live pushes ` +
          `across nodes again ${recoveryMs} ms after Redis answered, ready again after ${readyAgainMs} ms more ` +
          `(heartbeat ${CLUSTER_TIMINGS.clusterHeartbeatMs} ms)`,
      );
    } finally {
      for (const s of sdks) s.client.close();
      await closeAll(raw);
    }
  });
});
