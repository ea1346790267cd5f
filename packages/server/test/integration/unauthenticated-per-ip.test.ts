import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, expectFrame, TestClient, upgradeAnswer } from '../helpers/client.js';
import { signToken, startTestServer, type TestServer, uid } from '../helpers/server.js';

const SHARE = 5;
/** A second loopback address: Linux routes all of 127/8 to lo, so the server sees another peer. */
const FLOODER = '127.0.0.1';
const BYSTANDER = '127.0.0.2';

/**
 * One address holding its share of unauthenticated sockets is refused (HTTP 503, Retry-After) while
 * other addresses still connect and log in; the global cap stays the last resort.
 */
describe('unauthenticated sockets: a share per client address', () => {
  let server: TestServer | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    await closeAll(clients.splice(0));
    await server?.dispose();
  });

  async function flood(from: string, count: number, headers?: Record<string, string>): Promise<void> {
    for (let i = 0; i < count; i++)
      clients.push(await TestClient.connect(server!.wsUrl, { localAddress: from, headers }));
  }

  it('a flood from one address is refused beyond its share; another address still logs in', async () => {
    server = await startTestServer({ maxUnauthenticatedPerIp: SHARE, authTimeoutMs: 30_000 });
    await flood(FLOODER, SHARE);
    const refused = await upgradeAnswer(server.wsUrl, { localAddress: FLOODER });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');

    const bystander = await TestClient.connect(server.wsUrl, { localAddress: BYSTANDER });
    clients.push(bystander);
    expectFrame(await bystander.auth(await signToken(uid('bystander'))), 'ready');
    expect((await upgradeAnswer(server.wsUrl, { localAddress: BYSTANDER })).status).toBe(101);

    // a flooding socket that authenticates, or closes, gives its place back
    expectFrame(await clients[0]!.auth(await signToken(uid('flooder'))), 'ready');
    expect((await upgradeAnswer(server.wsUrl, { localAddress: FLOODER })).status).toBe(101);
    await flood(FLOODER, 1);
    expect((await upgradeAnswer(server.wsUrl, { localAddress: FLOODER })).status).toBe(503);
    await clients[1]!.close();
    expect((await upgradeAnswer(server.wsUrl, { localAddress: FLOODER })).status).toBe(101);
  });

  it('the global cap still applies across addresses', async () => {
    server = await startTestServer({ maxUnauthenticatedPerIp: SHARE, maxUnauthenticated: SHARE + 2 });
    await flood(FLOODER, SHARE);
    await flood(BYSTANDER, 2);
    expect((await upgradeAnswer(server.wsUrl, { localAddress: '127.0.0.3' })).status).toBe(503);
  });

  it('behind a trusted proxy the share is per X-Forwarded-For client', async () => {
    server = await startTestServer({ maxUnauthenticatedPerIp: SHARE, trustProxy: ['loopback'] });
    const flooder = { 'x-forwarded-for': '203.0.113.7' };
    await flood(FLOODER, SHARE, flooder);
    expect((await upgradeAnswer(server.wsUrl, { headers: flooder })).status).toBe(503);
    // the same proxy, another client behind it
    const other = await TestClient.connect(server.wsUrl, { headers: { 'x-forwarded-for': '203.0.113.8' } });
    clients.push(other);
    expectFrame(await other.auth(await signToken(uid('behind-proxy'))), 'ready');
  });

  it('an untrusted peer cannot escape its share by naming other clients in X-Forwarded-For', async () => {
    server = await startTestServer({ maxUnauthenticatedPerIp: SHARE });
    for (let i = 0; i < SHARE; i++) await flood(FLOODER, 1, { 'x-forwarded-for': `203.0.113.${i}` });
    const forged = { 'x-forwarded-for': '203.0.113.99' };
    expect((await upgradeAnswer(server.wsUrl, { localAddress: FLOODER, headers: forged })).status).toBe(503);
  });
});
