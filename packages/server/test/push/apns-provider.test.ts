import { generateKeyPairSync } from 'node:crypto';
import { createSecureServer, type Http2SecureServer, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApnsProvider } from '../../src/push/apns-provider.js';
import { Http2Origins } from '../../src/push/http2-json.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { selfSignedCertificate } from './self-signed.js';

const TOKEN = 'a'.repeat(64);
const GONE = 'b'.repeat(64);

/**
 * APNs against a local HTTP/2 server over TLS that checks what Apple documents: the path, the ES256
 * provider JWT (kid, iss, iat) verified with the key's public half, the apns-* headers and the aps
 * payload. The real APNs could not be reached here.
 */
describe('ApnsProvider against a local HTTP/2 APNs', () => {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const privateKey = key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicKey = key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const seen: Array<{ headers: IncomingHttpHeaders; body: string; iat: number }> = [];
  let server: Http2SecureServer;
  let origin: string;
  let cert: string;

  beforeAll(async () => {
    const tls = selfSignedCertificate();
    cert = tls.cert;
    server = createSecureServer(tls, (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', async () => {
        const jwt = /^bearer (.+)$/.exec(String(request.headers.authorization))?.[1] ?? '';
        let iat = 0;
        try {
          if (decodeProtectedHeader(jwt).kid !== 'KEY1234567') throw new Error('kid');
          const { payload } = await jwtVerify(jwt, await importSPKI(publicKey, 'ES256'), {
            issuer: 'TEAM123456',
          });
          iat = payload.iat ?? 0;
        } catch {
          response.writeHead(403).end(JSON.stringify({ reason: 'InvalidProviderToken' }));
          return;
        }
        seen.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), iat });
        if (request.url === `/3/device/${GONE}`) {
          response.writeHead(410).end(JSON.stringify({ reason: 'Unregistered', timestamp: 1 }));
          return;
        }
        response.writeHead(200, { 'apns-id': '00000000-0000-0000-0000-000000000001' }).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const message = { title: 'Natter', body: 'New message from Ann', conversationId: 'c1', badge: 5 };

  it('sends the aps payload with a provider JWT and the apns headers, and renews the JWT within the hour', async () => {
    const clock = new ManualClock(1_800_000_000_000);
    const apns = new ApnsProvider(
      {
        privateKey,
        keyId: 'KEY1234567',
        teamId: 'TEAM123456',
        topic: 'com.example.natter',
        origin,
        ttlSeconds: 3600,
      },
      new Http2Origins({ ca: cert }),
      clock,
    );
    try {
      expect(await apns.send({ provider: 'apns', token: TOKEN, keys: null }, message)).toEqual({
        status: 'sent',
      });
      const sent = seen.at(-1)!;
      expect(sent.headers[':path']).toBe(`/3/device/${TOKEN}`);
      expect(sent.headers[':method']).toBe('POST');
      expect(sent.headers['apns-topic']).toBe('com.example.natter');
      expect(sent.headers['apns-push-type']).toBe('alert');
      expect(sent.headers['apns-priority']).toBe('10');
      expect(sent.headers['apns-expiration']).toBe(String(1_800_000_000 + 3600));
      expect(String(sent.headers['apns-collapse-id']).length).toBeLessThanOrEqual(64);
      expect(JSON.parse(sent.body)).toEqual({
        aps: {
          alert: { title: 'Natter', body: 'New message from Ann' },
          badge: 5,
          sound: 'default',
          'thread-id': 'c1',
        },
        conversation_id: 'c1',
      });
      expect(sent.iat).toBe(1_800_000_000);
      await clock.advance(50 * 60_000);
      await apns.send({ provider: 'apns', token: TOKEN, keys: null }, message);
      expect(seen.at(-1)!.iat).toBe(1_800_000_000 + 50 * 60);
      expect((await apns.send({ provider: 'apns', token: GONE, keys: null }, message)).status).toBe('gone');
    } finally {
      await apns.close();
    }
  });
});
