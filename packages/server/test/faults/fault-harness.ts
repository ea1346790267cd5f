import { rm } from 'node:fs/promises';
import type { ChatEvent } from '@natter/protocol';
import { afterAll, beforeAll, inject } from 'vitest';
import type { NatterClient } from '../../../client/src/index.js';
import { type ClusterBackends, startNodes } from '../cluster/cluster-harness.js';
import type { ChildServer } from '../helpers/process.js';
import { ensureRunning, type ThrowawayServices } from '../helpers/services.js';

/**
 * The fault tests kill nodes and stop and start PostgreSQL and Redis: their own throwaway ones
 * (global-setup.ts), never the machine's. They run alone (vitest.faults.config.ts: one file at a
 * time, after the main pass), and every file leaves both services running, whatever happened.
 */

/**
 * The fault pass's own PostgreSQL and Redis, or null if this machine could not make them, after a
 * loud warning (under CI=true the global setup has failed the pass instead).
 */
export function faultServices(what: string): ThrowawayServices | null {
  const services = inject('faultServices');
  if (!('unavailable' in services)) return services;
  console.warn(
    `\n${'!'.repeat(100)}\n!!! ${services.unavailable}: ${what} cannot run.\n!!! SKIPPING them.\n${'!'.repeat(100)}\n`,
  );
  return null;
}

/** Call first in a describe block that stops services: they are running again after it. */
export function leaveServicesRunning(services: ThrowawayServices | null): void {
  afterAll(async () => {
    if (services) await ensureRunning(services);
  }, 60_000);
}

/**
 * How long a node may take to drain after the tests: a commit stuck on a connection the driver lost
 * ends after the reservation (5 s) and commit (2 s + 8 ms per op) limits in postgres-pool.ts and
 * postgres-log-writer.ts, then the pool closes (up to 5 s).
 */
const DRAIN_MS = 16_000;

export interface FaultCluster {
  /** The node processes, in start order (node-0, node-1, ...); valid inside tests. */
  readonly nodes: ChildServer[];
  /** SIGKILLs a node: no drain, no goodbye to Redis, sockets reset by the kernel. */
  kill(index: number): Promise<void>;
}

/**
 * Like useChildCluster (which the cluster tests use), but a node may be SIGKILLed: after the block,
 * the nodes still running are drained with SIGTERM and must exit 0 (a node that survived a fault
 * must still drain cleanly), and the killed ones are left dead.
 */
export function useFaultCluster(
  backends: ClusterBackends,
  count: number,
  extraEnv: Record<string, string> = {},
): FaultCluster {
  const nodes: ChildServer[] = [];
  const killed = new Set<ChildServer>();
  let dataDir = '';
  beforeAll(async () => {
    dataDir = await startNodes(backends, count, extraEnv, nodes);
  }, 30_000);
  afterAll(async () => {
    const alive = nodes.filter((n) => !killed.has(n));
    // A node that cannot drain (a commit that never settles) is SIGKILLed after DRAIN_MS, so that
    // no process outlives the test; the failure is reported all the same.
    const exits = await Promise.all(
      alive.map(async (n) => {
        const timer = setTimeout(() => n.proc.kill('SIGKILL'), DRAIN_MS);
        try {
          return await n.kill('SIGTERM');
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    await rm(dataDir, { recursive: true, force: true });
    const unclean = exits.findIndex((e) => e.code !== 0);
    if (unclean >= 0) {
      const node = alive[unclean]!;
      throw new Error(
        `a node did not drain cleanly: ${JSON.stringify(exits[unclean])}\n${node.lines.slice(-15).join('\n')}`,
      );
    }
  }, DRAIN_MS + 10_000);
  return {
    nodes,
    async kill(index) {
      const node = nodes[index];
      if (!node) throw new Error(`no node ${index}`);
      killed.add(node);
      await node.kill('SIGKILL');
    },
  };
}

/** A node's readiness (GET /readyz): true on 200. */
export async function isReady(httpUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${httpUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
    await res.text();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Resolves once the condition holds, with how long that took; rejects after `timeoutMs`. */
export async function timeUntil(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 25,
): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return Date.now() - started;
}

/** Messages of one conversation (the kinds the senders write), as a compact seq list for messages. */
export function messagesOf(events: readonly ChatEvent[]): ChatEvent[] {
  return events.filter((e) => e.kind === 'message');
}

/** What a load of SDK sends produced: acks by client_msg_id (seq, and when), and any failure. */
export interface SdkLoad {
  /** client_msg_id -> seq of its ack. */
  readonly acked: Map<string, number>;
  /** client_msg_id -> Date.now() at its ack. */
  readonly ackedAt: Map<string, number>;
  /** Every client_msg_id handed to an SDK's send(). */
  readonly sent: string[];
  /** Sends the SDK gave up on (a non-retryable refusal): must stay empty. */
  readonly failed: string[];
  /** Stops writing new messages; resolves once the writers have stopped (not once all are acked). */
  stop(): Promise<void>;
}

/**
 * Each client writes one message every `paceMs` (through the SDK's outbox, which retries with the
 * same client_msg_id until acked) until `stop()` or `perSender` messages.
 */
export function startSdkLoad(
  senders: readonly { client: NatterClient; name: string }[],
  conversationId: string,
  options: { paceMs: number; perSender: number },
): SdkLoad {
  const acked = new Map<string, number>();
  const ackedAt = new Map<string, number>();
  const sent: string[] = [];
  const failed: string[] = [];
  let stopped = false;
  for (const { client } of senders) {
    client.on('outbox', (entry) => {
      if (entry.conversationId !== conversationId) return;
      if (entry.state === 'sent' && entry.seq !== undefined) {
        acked.set(entry.clientMsgId, entry.seq);
        ackedAt.set(entry.clientMsgId, Date.now());
      } else if (entry.state === 'failed') {
        failed.push(`${entry.clientMsgId}: ${entry.error?.code} ${entry.error?.message}`);
      }
    });
  }
  const writers = senders.map(async ({ client, name }) => {
    for (let i = 0; i < options.perSender && !stopped; i++) {
      const clientMsgId = `${name}-${i}`;
      sent.push(clientMsgId);
      await client.send(conversationId, `message ${i} of ${name}`, { clientMsgId });
      await new Promise((resolve) => setTimeout(resolve, options.paceMs));
    }
  });
  const done = Promise.all(writers).then(() => undefined);
  return {
    acked,
    ackedAt,
    sent,
    failed,
    async stop() {
      stopped = true;
      await done;
    },
  };
}
