import { afterEach, describe, expect, it } from 'vitest';
import { apiFrom } from '../helpers/raw-http.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'correct horse battery';
const rateLimited = {
  error: {
    code: 'rate_limited',
    message: expect.any(String),
    retryable: true,
    retry_after_ms: expect.any(Number),
  },
};

/** One client trying many usernames, or many clients at once, cannot make password hashing the bottleneck. */
describe('password spraying', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.dispose();
  });

  const login = (username: string, headers: Record<string, string> = {}) =>
    api(server!.httpUrl, 'POST', '/v1/sessions', { body: { username, password: PASSWORD }, headers });
  const register = (username: string) =>
    api(server!.httpUrl, 'POST', '/v1/accounts', { body: { username, password: PASSWORD } });

  it('one address trying a new username each time is refused after its per-IP budget; another address is not', async () => {
    server = await startTestServer({ loginAttemptsPerIpPerMinute: 5 });
    expect((await register('victim')).status).toBe(201);
    for (let i = 0; i < 5; i++) expect((await login(`sprayed${i}`)).status).toBe(401);
    const refused = await login('sprayed5');
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual(rateLimited);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await login('victim')).status).toBe(429);
    // Without NATTER_TRUST_PROXY a forwarded address is not believed.
    expect((await login('victim', { 'x-forwarded-for': '198.51.100.7' })).status).toBe(429);

    const elsewhere = await apiFrom('127.0.0.2', server.port, 'POST', '/v1/sessions', {
      body: { username: 'victim', password: PASSWORD },
    });
    expect(elsewhere.status).toBe(201);
  });

  it('behind a trusted proxy the budget is per forwarded client address', async () => {
    server = await startTestServer({ loginAttemptsPerIpPerMinute: 3, trustProxy: ['loopback'] });
    expect((await register('victim')).status).toBe(201);
    const sprayer = { 'x-forwarded-for': '203.0.113.1' };
    for (let i = 0; i < 3; i++) expect((await login(`sprayed${i}`, sprayer)).status).toBe(401);
    expect((await login('victim', sprayer)).body).toEqual(rateLimited);
    expect((await login('victim', { 'x-forwarded-for': '203.0.113.2' })).status).toBe(201);
  });

  it('a burst of logins beyond the hash slots and their queue is refused, and the server still serves', async () => {
    server = await startTestServer({
      passwordHashCost: 15, // about 150 ms a hash here, so that the burst overlaps even on a loaded machine
      maxConcurrentPasswordHashes: 1,
      maxQueuedPasswordHashes: 2,
      loginAttemptsPerIpPerMinute: 1000,
    });
    expect((await register('victim')).status).toBe(201);
    const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => login(`burst${i}`)));
    const statuses = burst.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(3);
    const refused = burst.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r.body).toEqual(rateLimited);
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect((await login('victim')).status).toBe(201);
  });
});
