import type { ReconnectFrame } from '@natter/protocol';
import { describe, expect, it } from 'vitest';
import { closeAll, TestClient } from '../helpers/client.js';
import { api, createGroup, startTestServer, uid } from '../helpers/server.js';

const DRAIN_MAX_DELAY = 300;

describe('graceful close (drain)', () => {
  it('close(): every socket gets reconnect{server_draining} then close 1012; readyz stops answering 200', async () => {
    const server = await startTestServer({ drainMaxDelayMs: DRAIN_MAX_DELAY });
    const users = [uid('d'), uid('d'), uid('d')];
    const conv = await createGroup(server.httpUrl, users[0]!, users.slice(1));
    const clients = await Promise.all(users.map((u) => TestClient.open(server.wsUrl, { user: u })));
    let restarted: Awaited<ReturnType<typeof startTestServer>> | undefined;
    try {
      // sends in flight at the moment of the close are acked and stored, or not acked at all
      const inflight = Array.from({ length: 30 }, (_, i) =>
        clients[i % 3]!.send(conv, `drain ${i}`, `dr-${i}`).catch(() => undefined),
      );
      const closing = server.close();
      const readyDuring = await api(server.httpUrl, 'GET', '/readyz').catch(() => ({ status: 0 }));
      expect(readyDuring.status).not.toBe(200);
      for (const c of clients) {
        const rc = await c.waitFor<ReconnectFrame>((f) => f.type === 'reconnect', { timeoutMs: 5_000 });
        expect(rc.reason).toBe('server_draining');
        expect(rc.retry_after_ms).toBeGreaterThanOrEqual(0);
        expect(rc.retry_after_ms).toBeLessThanOrEqual(DRAIN_MAX_DELAY);
        expect((await c.waitClosed(5_000)).code).toBe(1012);
        // the reconnect frame is the last thing before the close
        expect(c.frames.at(-1)?.type).toBe('reconnect');
      }
      await closing;
      const answers = await Promise.all(inflight);
      const acked = answers.filter((a) => a?.type === 'ack');
      restarted = await startTestServer({}, server.dataDir);
      const r = await TestClient.open(restarted.wsUrl, { user: users[1]! });
      const h = await r.fullHistory(conv);
      for (const a of acked) {
        if (a?.type === 'ack') expect(h.find((e) => e.seq === a.seq)?.client_msg_id).toBe(a.client_msg_id);
      }
      await r.close();
    } finally {
      await closeAll(clients);
      await restarted?.close();
      await server.dispose();
    }
  });
});
