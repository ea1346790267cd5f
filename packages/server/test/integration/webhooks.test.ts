import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mintApiKey } from '../../src/auth/api-keys.js';
import { verifyWebhookSignature } from '../../src/webhooks/webhook-signature.js';
import { closeAll, TestClient } from '../helpers/client.js';
import { ManualClock } from '../helpers/manual-clock.js';
import {
  api,
  createGroup,
  makeDataDir,
  signToken,
  startTestServer,
  type TestServer,
  uid,
  until,
} from '../helpers/server.js';

/** One POST the receiver got, with what its signature check said. */
interface Received {
  deliveryId: string;
  attempt: string;
  signature: ReturnType<typeof verifyWebhookSignature>;
  body: {
    delivery_id: string;
    type: string;
    event: { kind: string; body: string | null; conversation_id: string };
  };
}

/**
 * A product's receiver on 127.0.0.1: it checks each delivery's signature with the secret it was
 * given, records it, and answers with the next status of its script (200 when the script is
 * empty; 0 means: never answer).
 */
class Receiver {
  readonly received: Received[] = [];
  readonly script: number[] = [];
  secret = '';
  private constructor(private readonly server: Server) {}

  static async start(clock: ManualClock): Promise<Receiver> {
    const server = createServer();
    const receiver = new Receiver(server);
    server.on('request', async (req: IncomingMessage, res) => {
      let raw = '';
      for await (const chunk of req) raw += chunk;
      receiver.received.push({
        deliveryId: String(req.headers['natter-delivery-id']),
        attempt: String(req.headers['natter-attempt']),
        signature: verifyWebhookSignature(
          receiver.secret,
          String(req.headers['natter-signature']),
          raw,
          clock.now(),
        ),
        body: JSON.parse(raw) as Received['body'],
      });
      const status = receiver.script.shift() ?? 200;
      if (status === 0) return; // hangs: the attempt times out
      res.writeHead(status).end(status >= 300 ? 'receiver says no' : '');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/natter`;
  }

  messages(conversationId: string): Received[] {
    return this.received.filter((r) => r.body.event.conversation_id === conversationId);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const key = mintApiKey('backend', ['webhooks']);
const noWebhooks = mintApiKey('other', ['users', 'conversations', 'messages']);

function settings() {
  return { serverApiKeys: [key.entry, noWebhooks.entry], webhookTimeoutMs: 300, webhookMaxAttempts: 3 };
}

describe('webhooks over real HTTP', () => {
  const clock = new ManualClock();
  let server: TestServer;
  let receiver: Receiver;
  const call = (method: string, path: string, body?: unknown, token = key.key) =>
    api<Record<string, unknown>>(server.httpUrl, method, path, {
      token,
      ...(body === undefined ? {} : { body }),
    });

  beforeAll(async () => {
    receiver = await Receiver.start(clock);
    server = await startTestServer(settings(), undefined, { clock });
  });
  afterAll(async () => {
    await server?.dispose();
    await receiver?.close();
  });
  afterEach(() => {
    receiver.script.splice(0);
  });

  async function register(events: string[]): Promise<string> {
    const created = await call('POST', '/v1/server/webhooks', { url: receiver.url, events });
    expect(created.status).toBe(201);
    const webhook = created.body.webhook as { id: string; secret: string };
    receiver.secret = webhook.secret;
    return webhook.id;
  }

  it('registers per event type and delivers signed events once each, only of the types asked for', async () => {
    expect(
      (await call('POST', '/v1/server/webhooks', { url: receiver.url, events: ['message'] }, noWebhooks.key))
        .status,
    ).toBe(403);
    const bad = await call('POST', '/v1/server/webhooks', { url: 'ftp://example.test', events: ['message'] });
    expect(bad.status).toBe(400);
    const hook = await register(['message', 'membership']);
    const listed = await call('GET', '/v1/server/webhooks');
    expect(listed.body.webhooks).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: hook, events: ['message', 'membership'], enabled: true }),
      ]),
    );
    expect(JSON.stringify(listed.body)).not.toContain(receiver.secret);

    const [alice, bob, carol] = [uid('alice'), uid('bob'), uid('carol')];
    const conv = await createGroup(server.httpUrl, alice, [bob], 'orders');
    const a = await TestClient.open(server.wsUrl, { user: alice });
    try {
      const sent = await a.sendOk(conv, 'first order');
      await a.sendOk(conv, 'second order');
      await a.request({
        type: 'react',
        conversation_id: conv,
        client_msg_id: randomUUID(),
        target_seq: sent.seq,
        emoji: '👍',
        action: 'add',
      });
      const added = await api(server.httpUrl, 'POST', `/v1/conversations/${conv}/members`, {
        token: await signToken(alice),
        body: { user_id: carol },
      });
      expect(added.status).toBe(200);
      await until(() => receiver.messages(conv).length >= 4, 10_000);
      const got = receiver.messages(conv);
      expect(got.map((r) => [r.body.type, r.body.event.kind, r.body.event.body])).toEqual([
        ['membership', 'created', null],
        ['message', 'message', 'first order'],
        ['message', 'message', 'second order'],
        ['membership', 'member_added', null],
      ]);
      expect(got.every((r) => r.signature === 'valid' && r.deliveryId === r.body.delivery_id)).toBe(true);
      expect(new Set(got.map((r) => r.deliveryId)).size).toBe(4);
      // Nothing more comes (no reaction: not subscribed), however often the queue is looked at.
      await clock.advance(5_000);
      expect(receiver.messages(conv)).toHaveLength(4);
    } finally {
      await closeAll([a]);
      await call('DELETE', `/v1/server/webhooks/${hook}`);
    }
  });

  it('retries failed attempts with backoff on the clock, logs each attempt, gives up, and replays on request', async () => {
    const hook = await register(['message']);
    const [alice] = [uid('alice')];
    const conv = await createGroup(server.httpUrl, alice, [], 'retries');
    // Two errors, then success.
    receiver.script.push(500, 503);
    const a = await TestClient.open(server.wsUrl, { user: alice });
    try {
      await a.sendOk(conv, 'eventually');
      await until(() => receiver.messages(conv).length === 1, 10_000);
      const deliveryId = receiver.messages(conv)[0]!.deliveryId;
      // Each attempt is logged (its retry time set from the clock) before the clock moves on.
      const pending = await waitForStatus(hook, deliveryId, 'pending', 1);
      expect(pending.delivery).toMatchObject({ status: 'pending', attempts: 1, last_status: 500 });
      // The retry waits for its backoff (5 to 10 s after the first failure): not before.
      await clock.advance(4_000);
      expect(receiver.messages(conv)).toHaveLength(1);
      await clock.advance(7_000);
      await until(() => receiver.messages(conv).length === 2, 10_000);
      await waitForStatus(hook, deliveryId, 'pending', 2);
      await clock.advance(21_000);
      await until(() => receiver.messages(conv).length === 3, 10_000);
      const log = await waitForStatus(hook, deliveryId, 'delivered');
      expect(log.attempts.map((t) => t.status_code)).toEqual([500, 503, 200]);
      expect(receiver.messages(conv).map((r) => r.attempt)).toEqual(['1', '2', '3']);

      // A receiver that never answers: each attempt times out, and after 3 the delivery is failed.
      receiver.script.push(0, 0, 0);
      await a.sendOk(conv, 'into the void');
      await until(() => receiver.messages(conv).length === 4, 10_000);
      const lost = receiver.messages(conv)[3]!.deliveryId;
      for (const attempt of [5, 6]) {
        await waitForStatus(hook, lost, 'pending', attempt - 4);
        await clock.advance(60_000);
        await until(() => receiver.messages(conv).length === attempt, 10_000);
      }
      const failed = await waitForStatus(hook, lost, 'failed');
      expect(failed.attempts.map((t) => t.error)).toEqual(Array(3).fill('no answer within 300 ms'));

      // Replay sends it again, now to a receiver that answers.
      const replay = await call('POST', `/v1/server/webhooks/${hook}/deliveries/${lost}/replay`);
      expect(replay.status).toBe(202);
      await until(() => receiver.messages(conv).length === 7, 10_000);
      expect(receiver.messages(conv)[6]!.deliveryId).toBe(lost);
      await waitForStatus(hook, lost, 'delivered');
      const page = await call('GET', `/v1/server/webhooks/${hook}/deliveries?limit=1`);
      expect(page.body).toMatchObject({ has_more: true });
      expect((await call('POST', `/v1/server/webhooks/${hook}/deliveries/wd_nope/replay`)).status).toBe(404);
    } finally {
      await closeAll([a]);
      await call('DELETE', `/v1/server/webhooks/${hook}`);
    }
  });

  /** The delivery log of one delivery once it has that status (and that many attempts logged, if given). */
  async function waitForStatus(webhook: string, delivery: string, status: string, attempts?: number) {
    let last:
      | {
          delivery: { status: string; attempts: number; last_status: number | null };
          attempts: Array<{ status_code: number | null; error: string | null }>;
        }
      | undefined;
    for (let i = 0; i < 200; i++) {
      const answer = await call('GET', `/v1/server/webhooks/${webhook}/deliveries/${delivery}`);
      last = answer.body as typeof last;
      const logged = attempts === undefined || last?.attempts.length === attempts;
      if (last?.delivery.status === status && logged) return last;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`delivery ${delivery} never became ${status}: ${JSON.stringify(last)}`);
  }
});

describe('webhook deliveries survive a restart', () => {
  it('delivers after the server restarts what it had queued', async () => {
    const clock = new ManualClock();
    const receiver = await Receiver.start(clock);
    const dataDir = await makeDataDir();
    let server = await startTestServer(settings(), dataDir, { clock });
    try {
      const created = await api<{ webhook: { id: string; secret: string } }>(
        server.httpUrl,
        'POST',
        '/v1/server/webhooks',
        {
          token: key.key,
          body: { url: receiver.url, events: ['message'] },
        },
      );
      receiver.secret = created.body.webhook.secret;
      const alice = uid('alice');
      const conv = await createGroup(server.httpUrl, alice, [], 'restart');
      receiver.script.push(503);
      const a = await TestClient.open(server.wsUrl, { user: alice });
      await a.sendOk(conv, 'survives');
      await until(() => receiver.messages(conv).length === 1, 10_000);
      await closeAll([a]);
      await server.close();

      server = await startTestServer(settings(), dataDir, { clock });
      await clock.advance(11_000);
      await until(() => receiver.messages(conv).length === 2, 10_000);
      const [first, second] = receiver.messages(conv);
      expect(second!.deliveryId).toBe(first!.deliveryId);
      expect(second!.signature).toBe('valid');
    } finally {
      await server.close();
      await receiver.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
