import { setTimeout as sleep } from 'node:timers/promises';
import { type AckFrame, ERRORS, type ErrorFrame } from '@natter/protocol';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { NatterClient } from '../../../client/src/index.js';
import type { WebSocketLike } from '../../../client/src/socket.js';
import { type SdkReader, sdkReader, useClusterBackends } from '../cluster/cluster-harness.js';
import { logViolations, orderedStreamViolations } from '../cluster/history-checker.js';
import { closeAll, TestClient } from '../helpers/client.js';
import { api, createGroup, uid, until } from '../helpers/server.js';
import { startPostgres, stopPostgres } from '../helpers/services.js';
import {
  faultServices,
  isReady,
  leaveServicesRunning,
  messagesOf,
  timeUntil,
  useFaultCluster,
} from './fault-harness.js';

/**
 * PostgreSQL (the log) stops under load and starts again. Nothing can be stored meanwhile, so a
 * send must be refused with a retryable error or wait, never acked unless stored and never refused
 * for good; the nodes notice the database is back by themselves (readiness, then acks), and every
 * send retried with its client_msg_id is stored once.
 */

const services = faultServices('the PostgreSQL restart fault tests');

const OUTAGE_MS = 2_000;
const LANES_PER_NODE = 2;
const PACE_MS = 25;
/** Longer than any outage here: a send left unanswered this long is a hang, not a wait. */
const ANSWER_TIMEOUT_MS = 15_000;

interface Outcome {
  clientMsgId: string;
  at: number;
  answer: 'ack' | 'duplicate' | 'no answer' | ErrorFrame['code'];
}

describe.runIf(services !== null)('PostgreSQL restarted under load', () => {
  leaveServicesRunning(services);
  const backends = useClusterBackends(services?.postgres.url ?? '');
  const cluster = useFaultCluster(backends, 2);

  it('sends are refused as retryable or wait, nothing acked is lost, and the nodes recover by themselves', async () => {
    const nodes = cluster.nodes;
    const senderIds = Array.from({ length: nodes.length * LANES_PER_NODE }, (_, i) => uid(`sender${i}`));
    const readerIds = nodes.map((_, i) => uid(`reader${i}`));
    // A built-in account: its session token is looked up in PostgreSQL at every (re)connection.
    const account = await register(nodes[0]!.httpUrl);
    const conv = await createGroup(nodes[0]!.httpUrl, senderIds[0]!, [
      ...senderIds.slice(1),
      ...readerIds,
      account.userId,
    ]);
    const sdks: Array<SdkReader & { name: string }> = readerIds.map((id, i) => ({
      ...sdkReader(nodes[i]!.wsUrl, id, conv),
      name: `JWT reader on node-${i}`,
    }));
    const sessionReader = sessionSdk(nodes[1]!.wsUrl, account.token, conv);
    sdks.push({ ...sessionReader, name: 'session-token reader on node-1' });
    let fatal: unknown;
    sessionReader.client.on('fatal', (error) => {
      fatal = error;
    });
    const lanes: TestClient[] = [];
    const outcomes: Outcome[] = [];
    const acked = new Map<string, number>();
    let stopped = false;
    /** Set if the test ends early: lanes stop retrying. */
    let abandoned = false;
    try {
      await Promise.all(sdks.map((s) => s.client.connect()));
      await until(() => sdks.every((s) => s.client.state === 'live'));
      const laneNode = (lane: number) => nodes[lane % nodes.length]!;
      for (const [lane, id] of senderIds.entries())
        lanes.push(await TestClient.open(laneNode(lane).wsUrl, { user: id }));

      // Each lane sends one message at a time and retries it, same client_msg_id, until acked.
      const sendUntilAcked = async (lane: number, clientMsgId: string, body: string): Promise<void> => {
        while (!abandoned) {
          let answer: AckFrame | ErrorFrame | undefined;
          try {
            if (!lanes[lane]!.isOpen)
              lanes[lane] = await TestClient.open(laneNode(lane).wsUrl, { user: senderIds[lane]! });
            answer = await lanes[lane]!.request<AckFrame | ErrorFrame>(
              { type: 'send', conversation_id: conv, client_msg_id: clientMsgId, body },
              ANSWER_TIMEOUT_MS,
            );
          } catch {
            outcomes.push({ clientMsgId, at: Date.now(), answer: 'no answer' });
            await sleep(200);
            continue;
          }
          if (answer.type === 'ack') {
            outcomes.push({ clientMsgId, at: Date.now(), answer: answer.duplicate ? 'duplicate' : 'ack' });
            acked.set(clientMsgId, answer.seq);
            return;
          }
          outcomes.push({ clientMsgId, at: Date.now(), answer: answer.code });
          if (!answer.retryable) return; // a refusal for good: reported below
          await sleep(answer.retry_after_ms ?? 100);
        }
      };
      // A connection that only listens: it must keep hearing pings while the store is down.
      const listener = await TestClient.open(nodes[0]!.wsUrl, { user: senderIds[0]! });
      lanes.push(listener);
      await listener.waitFor((f) => f.type === 'ping', { timeoutMs: 5_000, label: 'a first ping' });
      const load = Promise.all(
        senderIds.map(async (id, lane) => {
          for (let i = 0; !stopped; i++) {
            await sendUntilAcked(lane, `${id}-${i}`, `message ${i} of lane ${lane}`);
            await sleep(PACE_MS);
          }
        }),
      );

      await until(() => acked.size >= 20, 10_000);
      await stopPostgres(services!.postgres);
      const down = Date.now();
      const pingsFrom = listener.mark();
      const readyDuringOutage = await Promise.all(nodes.map((n) => isReady(n.httpUrl)));
      // A built-in account connecting now cannot be checked: it must hear "retry", not "bad token".
      const probe = await TestClient.connect(nodes[0]!.wsUrl);
      const answer = await probe.auth(account.token);
      const closed = await probe.waitClosed(3_000).catch(() => undefined);
      const sessionAuthDuringOutage = {
        answer: answer.type === 'error' ? answer.code : answer.type,
        closeCode: closed?.code,
      };
      probe.terminate();
      await sleep(Math.max(0, OUTAGE_MS - (Date.now() - down)));
      const pingsDuringOutage = listener.frames.slice(pingsFrom).filter((f) => f.type === 'ping').length;
      await startPostgres(services!.postgres);
      const outage = { down, up: Date.now() };

      // The nodes find the database again by themselves: ready, then acking new sends.
      const readyAgainMs = await timeUntil(
        'every node is ready again',
        async () => (await Promise.all(nodes.map((n) => isReady(n.httpUrl)))).every(Boolean),
        15_000,
      );
      const firstAckAfter = await timeUntil(
        'every lane has a send acked after the restart',
        () =>
          senderIds.every((id) =>
            outcomes.some(
              (o) => o.clientMsgId.startsWith(`${id}-`) && o.answer === 'ack' && o.at > outage.up,
            ),
          ),
        15_000,
      );
      await sleep(300);
      stopped = true;
      await load;

      const history = await lanes[0]!.fullHistory(conv);
      const lastSeq = history.at(-1)!.seq;
      await until(() => sdks.every((s) => s.events.at(-1)?.seq === lastSeq), 20_000);
      const refusals = outcomes.filter((o) => o.answer !== 'ack' && o.answer !== 'duplicate');
      const codes = new Set(refusals.map((o) => o.answer));
      // Only "retry": `unavailable` (the store) or `overloaded`; never a refusal for good, never
      // `internal` (a failure the server did not understand), never a send left hanging.
      expect([...codes].filter((c) => c !== 'unavailable' && c !== 'overloaded')).toEqual([]);
      for (const code of codes) expect(ERRORS[code as ErrorFrame['code']].retryable).toBe(true);
      expect(refusals.length).toBeGreaterThan(0); // the outage did reach the senders
      expect([
        ...logViolations(history, acked),
        ...sdks.flatMap((s) => orderedStreamViolations(`SDK ${s.name}`, s.events, history)),
      ]).toEqual([]);
      expect(readyDuringOutage).toEqual([false, false]);
      // Pings go on (with the last token) while the store is down: clients keep their sockets.
      expect(pingsDuringOutage).toBeGreaterThanOrEqual(2);
      expect(sessionAuthDuringOutage.answer).toBe('unavailable');
      expect([4001, 4003]).not.toContain(sessionAuthDuringOutage.closeCode);
      expect(fatal).toBeUndefined();
      for (const n of nodes) expect(n.proc.exitCode).toBeNull();
      console.info(
        `PostgreSQL restart: ${messagesOf(history).length} messages from ${senderIds.length} lanes, ` +
          `${outage.up - outage.down} ms outage; ` +
          `${refusals.length} retryable refusals [${[...codes].join(', ')}], ` +
          `${outcomes.filter((o) => o.answer === 'duplicate').length} duplicate acks; ready again ` +
          `${readyAgainMs} ms after PostgreSQL answered, every lane acked within ${readyAgainMs + firstAckAfter} ms`,
      );
    } catch (error) {
      // What the lanes and the nodes were doing, for whoever reads the failure.
      console.error('last send outcomes', JSON.stringify(outcomes.slice(-30)));
      for (const [i, n] of nodes.entries())
        console.error(
          `node-${i} log tail\n${n.lines
            .filter((l) => !l.includes('request completed') && !l.includes('incoming request'))
            .slice(-40)
            .join('\n')}`,
        );
      throw error;
    } finally {
      stopped = true;
      abandoned = true;
      for (const s of sdks) s.client.close();
      await closeAll(lanes);
    }
  });
});

async function register(httpUrl: string): Promise<{ userId: string; token: string }> {
  const username = `fault_${uid('u').slice(2, 10)}`;
  const password = 'a long enough password';
  const created = await api<{ user_id: string }>(httpUrl, 'POST', '/v1/accounts', {
    body: { username, password },
  });
  const session = await api<{ token: string }>(httpUrl, 'POST', '/v1/sessions', {
    body: { username, password },
  });
  if (created.status !== 201 || session.status !== 201) throw new Error(`register: ${session.text}`);
  return { userId: created.body.user_id, token: session.body.token };
}

/** An SDK client with a fixed built-in session token (no token function to fetch a fresh one). */
function sessionSdk(wsUrl: string, token: string, conversationId: string): SdkReader {
  const client = new NatterClient({
    url: wsUrl,
    token,
    deviceId: 'sdk',
    webSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
  });
  const events: SdkReader['events'] = [];
  client.on('event', (event) => {
    if (event.conversation_id === conversationId) events.push(event);
  });
  return { client, events };
}
