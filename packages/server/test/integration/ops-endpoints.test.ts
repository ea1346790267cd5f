import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, TestClient } from '../helpers/client.js';
import { api, createGroup, startTestServer, type TestServer, uid } from '../helpers/server.js';

/** Reads one sample's value from Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const kv of (m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)) got[kv[1]!] = kv[2]!;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[4]);
  }
  return undefined;
}

describe('health, readiness and metrics', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('/healthz and /readyz answer 200', async () => {
    expect((await api(server.httpUrl, 'GET', '/healthz')).status).toBe(200);
    expect((await api(server.httpUrl, 'GET', '/readyz')).status).toBe(200);
  });

  it('/metrics is Prometheus text with natter_ metrics that move with traffic', async () => {
    const before = await api(server.httpUrl, 'GET', '/metrics');
    expect(before.status).toBe(200);
    expect(before.headers.get('content-type')).toContain('text/plain');
    for (const name of [
      'natter_connections',
      'natter_frames_in_total',
      'natter_sends_total',
      'natter_ack_latency_seconds',
      'natter_read_seconds',
      'natter_commit_batch_size',
      'natter_errors_total',
    ]) {
      expect(before.text).toContain(`# TYPE ${name}`);
    }
    const stored0 = sample(before.text, 'natter_sends_total', { outcome: 'stored' }) ?? 0;
    const dup0 = sample(before.text, 'natter_sends_total', { outcome: 'duplicate' }) ?? 0;
    const acks0 = sample(before.text, 'natter_ack_latency_seconds_count') ?? 0;

    const user = uid('m');
    const conv = await createGroup(server.httpUrl, user, [uid('p')]);
    const c1 = await TestClient.open(server.wsUrl, { user });
    const c2 = await TestClient.open(server.wsUrl, { user });
    try {
      for (let i = 0; i < 3; i++) await c1.sendOk(conv, `m${i}`, `cm-${i}`);
      await c1.sendOk(conv, 'm0', 'cm-0');
      const during = await api(server.httpUrl, 'GET', '/metrics');
      expect(sample(during.text, 'natter_sends_total', { outcome: 'stored' })).toBe(stored0 + 3);
      expect(sample(during.text, 'natter_sends_total', { outcome: 'duplicate' })).toBe(dup0 + 1);
      expect(sample(during.text, 'natter_ack_latency_seconds_count')).toBe(acks0 + 4);
      const syncs0 = sample(during.text, 'natter_read_seconds_count', { type: 'sync' }) ?? 0;
      await c1.sync();
      await c2.sync();
      const after = await api(server.httpUrl, 'GET', '/metrics');
      expect(sample(after.text, 'natter_read_seconds_count', { type: 'sync' })).toBe(syncs0 + 2);
      const open = sample(during.text, 'natter_connections', { state: 'authenticated' });
      const anyState = [...during.text.matchAll(/^natter_connections\{[^}]*\}\s+(\S+)/gm)].reduce(
        (s, m) => s + Number(m[1]),
        0,
      );
      expect(open ?? anyState).toBeGreaterThanOrEqual(2);
    } finally {
      await closeAll([c1, c2]);
    }
  });
});
