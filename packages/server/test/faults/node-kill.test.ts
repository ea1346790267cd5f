import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { PresenceUpdateFrame, ServerFrame } from '@natter/protocol';
import { describe, expect, it } from 'vitest';
import { RedisConnectionRegistry } from '../../src/cluster/redis-connection-registry.js';
import { RedisNodeLiveness } from '../../src/cluster/redis-node-liveness.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics.js';
import {
  CLUSTER_TIMINGS,
  type SdkReader,
  sdkReader,
  useClusterBackends,
} from '../cluster/cluster-harness.js';
import { logViolations, orderedStreamViolations } from '../cluster/history-checker.js';
import { closeAll, expectFrame, TestClient } from '../helpers/client.js';
import { freePort, REPO_ROOT } from '../helpers/process.js';
import { createGroup, uid, until } from '../helpers/server.js';
import { faultServices, messagesOf, startSdkLoad, timeUntil, useFaultCluster } from './fault-harness.js';

/**
 * A node dies without a word (SIGKILL) while its clients send and read: they reconnect through the
 * balancer to the nodes left and resume, with nothing lost and nothing twice; the dead node's
 * registry entries and its users' presence expire by themselves.
 */

const services = faultServices('the node-kill fault tests');

const SENDERS = 3;
const PER_SENDER = 60;
const PACE_MS = 25;

describe.runIf(services !== null)('a node killed with SIGKILL under load', () => {
  const backends = useClusterBackends(services?.postgres.url ?? '');
  const cluster = useFaultCluster(backends, 3);

  it('its clients resume on other nodes with every acked message once, in order; its registry entries and presence expire', async () => {
    const nodes = cluster.nodes;
    const redis = await backends.redis.connect();
    const log = createLogger('silent');
    const options = { prefix: backends.prefix, nodeId: 'test-observer', ttlMs: CLUSTER_TIMINGS.clusterTtlMs };
    const registry = new RedisConnectionRegistry(redis, options, new Metrics(), log);
    const liveness = new RedisNodeLiveness(redis, options);

    const port = await freePort();
    const balancer = spawn(
      process.execPath,
      ['scripts/tcp-balancer.mjs', String(port), ...nodes.map((n) => `127.0.0.1:${n.port}`)],
      { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const senderIds = Array.from({ length: SENDERS }, (_, i) => uid(`sender${i}`));
    const readerIds = Array.from({ length: SENDERS }, (_, i) => uid(`reader${i}`));
    const ghost = uid('ghost'); // only ever on the victim, never reconnects
    const watcher = uid('watcher');
    const conv = await createGroup(nodes[0]!.httpUrl, senderIds[0]!, [
      ...senderIds.slice(1),
      ...readerIds,
      ghost,
      watcher,
    ]);
    const sdks: Array<SdkReader & { name: string; userId: string }> = [];
    const raw: TestClient[] = [];
    try {
      await once(balancer.stderr, 'data');
      // One at a time through the round-robin balancer: sender0 -> node-0, reader0 -> node-1, ...
      for (let i = 0; i < SENDERS; i++) {
        for (const [name, userId] of [
          [`sender${i}`, senderIds[i]!],
          [`reader${i}`, readerIds[i]!],
        ] as const) {
          const sdk = { ...sdkReader(`ws://127.0.0.1:${port}/ws`, userId, conv), name, userId };
          sdks.push(sdk);
          await sdk.client.connect();
          await until(() => sdk.client.state === 'live');
        }
      }
      const nodeOf = async (userId: string) => (await registry.nodesOf([userId])).get(userId) ?? [];
      let placement: string[][] = [];
      await timeUntil(
        'every SDK client is in the registry',
        async () => {
          placement = await Promise.all(sdks.map((s) => nodeOf(s.userId)));
          return placement.every((where) => where.length === 1);
        },
        5_000,
      );
      // The victim is sender0's node; it also holds a reader (the balancer took turns).
      const victimId = placement[0]![0]!;
      const victim = Number(victimId.replace('node-', ''));
      const onVictim = sdks.filter((_, i) => placement[i]!.includes(victimId));
      expect(onVictim.map((s) => s.name).sort()).toEqual(['reader1', 'sender0']);
      const survivor = nodes[(victim + 1) % nodes.length]!;

      const ghostOnVictim = await TestClient.open(nodes[victim]!.wsUrl, { user: ghost });
      raw.push(ghostOnVictim);
      const watching = await TestClient.open(survivor.wsUrl, { user: watcher });
      raw.push(watching);
      const isGhost = (online: boolean) => (f: ServerFrame) =>
        f.type === 'presence' && f.user_id === ghost && f.online === online;
      const subscribed = expectFrame(
        await watching.request({ type: 'presence_subscribe', user_ids: [ghost] }),
        'presence_result',
      );
      expect(subscribed.presence).toEqual([expect.objectContaining({ user_id: ghost, online: true })]);
      expect(await nodeOf(ghost)).toEqual([victimId]);

      const senders = sdks.filter((s) => s.name.startsWith('sender'));
      const load = startSdkLoad(senders, conv, { paceMs: PACE_MS, perSender: PER_SENDER });
      await until(() => load.acked.size >= SENDERS * 15, 10_000);
      const ackedBeforeKill = load.acked.size;
      const afterKill = watching.mark();
      const killedAt = Date.now();
      await cluster.kill(victim);

      const sinceKill = async (what: string, done: () => Promise<boolean>, timeoutMs: number) => {
        await timeUntil(what, done, timeoutMs);
        return Date.now() - killedAt;
      };
      const [reconnectMs, registryGoneMs, offlineMs] = await Promise.all([
        // The victim's SDK clients come back on another node (backoff: up to 1 s, first attempt).
        sinceKill(
          "the victim's clients are live elsewhere",
          async () => {
            if (!onVictim.every((s) => s.client.state === 'live')) return false;
            const now = await Promise.all(onVictim.map((s) => nodeOf(s.userId)));
            return now.every((where) => where.length > 0 && !where.includes(victimId));
          },
          10_000,
        ),
        // Its registry entries expire within one TTL of its last beat.
        sinceKill(
          "the ghost's registry entry expires",
          async () => (await nodeOf(ghost)).length === 0,
          CLUSTER_TIMINGS.clusterTtlMs + 3_000,
        ),
        // Presence: within the TTL plus one sweep (a quarter TTL), seen through another node.
        watching
          .waitFor<PresenceUpdateFrame>(isGhost(false), {
            from: afterKill,
            timeoutMs: CLUSTER_TIMINGS.presenceTtlMs + 3_000,
            label: 'the ghost goes offline',
          })
          .then(() => Date.now() - killedAt),
      ]);
      expect(registryGoneMs).toBeLessThanOrEqual(CLUSTER_TIMINGS.clusterTtlMs + 500);
      expect(await liveness.liveNodes()).not.toContain(victimId);
      const offline = expectFrame(await watching.waitFor(isGhost(false), { from: afterKill }), 'presence');
      expect(offlineMs).toBeLessThanOrEqual(CLUSTER_TIMINGS.presenceTtlMs * 1.25 + 500);
      expect(offline.last_seen).toBeLessThanOrEqual(killedAt + 100);
      const asked = expectFrame(
        await watching.request({ type: 'presence_subscribe', user_ids: [ghost] }),
        'presence_result',
      );
      expect(asked.presence).toEqual([expect.objectContaining({ user_id: ghost, online: false })]);

      await load.stop();
      await until(() => load.acked.size === load.sent.length, 15_000);
      const lastSeq = Math.max(...load.acked.values());
      await until(() => sdks.every((s) => s.events.at(-1)?.seq === lastSeq), 10_000);

      const history = await watching.fullHistory(conv);
      expect(load.failed).toEqual([]);
      expect(load.acked.size).toBe(SENDERS * PER_SENDER);
      expect(messagesOf(history)).toHaveLength(SENDERS * PER_SENDER);
      expect([
        ...logViolations(history, load.acked),
        ...sdks.flatMap((s) => orderedStreamViolations(`SDK ${s.name}`, s.events, history)),
      ]).toEqual([]);
      // Writes really straddled the kill: the victim's sender went on through another node.
      const victimSenderAfterKill = [...load.ackedAt].filter(
        ([id, at]) =>
          id.startsWith(`${onVictim.find((s) => s.name.startsWith('sender'))!.name}-`) && at > killedAt,
      );
      expect(victimSenderAfterKill.length).toBeGreaterThan(0);
      console.info(
        `node kill: ${load.acked.size} messages (${ackedBeforeKill} acked before the kill); ` +
          `victim's clients live elsewhere after ${reconnectMs} ms, registry entry gone after ` +
          `${registryGoneMs} ms, presence offline after ${offlineMs} ms`,
      );
    } finally {
      for (const s of sdks) s.client.close();
      await closeAll(raw);
      balancer.kill('SIGTERM');
    }
  });
});
