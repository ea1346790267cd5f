import { describe, expect, it } from 'vitest';
import { closeAll, TestClient } from '../helpers/client.js';
import { createGroup, uid, until } from '../helpers/server.js';
import { clusterServices, sdkReader, useChildCluster, useClusterBackends } from './cluster-harness.js';
import { liveStreamViolations, logViolations, orderedStreamViolations } from './history-checker.js';

/**
 * The classic bug of chat clusters, hunted: many senders on three nodes write to one conversation
 * at once, and every reader, on every node, must end up with the same gap-free log in one order,
 * with every acked message in it once, at the seq its ack named.
 */

const adminUrl = await clusterServices('the cluster concurrency tests');

const NODES = 3;
const SENDERS_PER_NODE = 3;
const MESSAGES_PER_SENDER = 25;
/** Sends each sender keeps awaiting their ack, so that commits on every node overlap. */
const WINDOW = 4;

describe.runIf(adminUrl !== null)('concurrent senders on three nodes', () => {
  const backends = useClusterBackends(adminUrl ?? '');
  const cluster = useChildCluster(backends, NODES);

  it('every reader sees the same gap-free order, with every acked message once and nothing else', async () => {
    const nodes = cluster.nodes;
    const senderIds = Array.from({ length: NODES * SENDERS_PER_NODE }, (_, i) => uid(`sender${i}`));
    const readerIds = Array.from({ length: NODES }, (_, i) => uid(`reader${i}`));
    const nodeOfSender = new Map(senderIds.map((id, i) => [id, `node-${i % NODES}`]));
    const conv = await createGroup(nodes[0]!.httpUrl, senderIds[0]!, [...senderIds.slice(1), ...readerIds]);

    const senders = await Promise.all(
      senderIds.map((id, i) => TestClient.open(nodes[i % NODES]!.wsUrl, { user: id })),
    );
    const rawReaders = await Promise.all(
      readerIds.map((id, i) => TestClient.open(nodes[i]!.wsUrl, { user: id })),
    );
    const sdkReaders = readerIds.map((id, i) => sdkReader(nodes[i]!.wsUrl, id, conv));
    try {
      await Promise.all(sdkReaders.map((r) => r.client.connect()));
      await until(() => sdkReaders.every((r) => r.client.state === 'live'));

      const acked = new Map<string, number>();
      const started = Date.now();
      await Promise.all(
        senders.map(async (sender, s) => {
          let next = 0;
          const lane = async () => {
            while (next < MESSAGES_PER_SENDER) {
              const clientMsgId = `${senderIds[s]}-${next}`;
              const body = `message ${next++} of sender ${s}`;
              acked.set(clientMsgId, (await sender.sendOk(conv, body, clientMsgId)).seq);
            }
          };
          await Promise.all(Array.from({ length: WINDOW }, lane));
        }),
      );
      const sendMs = Date.now() - started;
      const total = NODES * SENDERS_PER_NODE * MESSAGES_PER_SENDER;
      expect(acked.size).toBe(total);
      const lastSeq = Math.max(...acked.values());

      await until(() => sdkReaders.every((r) => r.events.at(-1)?.seq === lastSeq), 10_000);
      await until(() => rawReaders.every((r) => r.liveEvents(conv).length >= total), 10_000);

      const histories = await Promise.all(rawReaders.map((r) => r.fullHistory(conv)));
      const history = histories[0]!;
      expect(history).toHaveLength(lastSeq);
      for (const other of histories.slice(1)) expect(other).toEqual(history);
      const problems = [
        ...logViolations(history, acked),
        ...sdkReaders.flatMap((r, i) =>
          orderedStreamViolations(`SDK reader on node-${i}`, r.events, history),
        ),
        ...rawReaders.flatMap((reader, i) =>
          liveStreamViolations(
            `raw reader on node-${i}`,
            reader.liveEvents(conv),
            history,
            (e) => nodeOfSender.get(e.sender_id) ?? 'unknown',
          ),
        ),
      ];
      expect(problems).toEqual([]);
      // The commits really interleaved across nodes (else this would test nothing concurrent).
      const switches = history.filter(
        (e, i) => i > 0 && nodeOfSender.get(e.sender_id) !== nodeOfSender.get(history[i - 1]!.sender_id),
      ).length;
      expect(switches).toBeGreaterThan(total / 10);
      // Nothing was lost on the live path of a healthy cluster: every message reached every raw reader.
      for (const reader of rawReaders) {
        expect(reader.liveEvents(conv).filter((e) => e.kind === 'message')).toHaveLength(total);
      }
      console.info(
        `${total} messages from ${senders.length} senders on ${NODES} nodes acked in ${sendMs} ms`,
      );
    } finally {
      for (const r of sdkReaders) r.client.close();
      await closeAll([...senders, ...rawReaders]);
    }
  });
});
