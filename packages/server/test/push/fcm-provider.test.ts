import { generateKeyPairSync } from 'node:crypto';
import { createSecureServer, type Http2SecureServer, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { importSPKI, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FcmProvider } from '../../src/push/fcm-provider.js';
import { Http2Origins } from '../../src/push/http2-json.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { selfSignedCertificate } from './self-signed.js';

interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * FCM HTTP v1 against a local HTTP/2 server over TLS playing both Google's OAuth2 token endpoint
 * (checks the service-account JWT: RS256, issuer, audience, scope) and FCM's send endpoint (checks
 * the bearer token and the documented message shape). The real services could not be reached here.
 */
describe('FcmProvider against a local HTTP/2 FCM and token endpoint', () => {
  const account = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKey = account.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicKey = account.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const seen: Seen[] = [];
  const unregistered = new Set(['dead-token']);
  let server: Http2SecureServer;
  let origin: string;
  let cert: string;
  let tokensIssued = 0;

  beforeAll(async () => {
    const tls = selfSignedCertificate();
    cert = tls.cert;
    server = createSecureServer(tls, (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        seen.push({ path: request.url, headers: request.headers, body });
        if (request.url === '/token') {
          const form = new URLSearchParams(body);
          if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
            response.writeHead(400).end();
            return;
          }
          try {
            const { payload } = await jwtVerify(
              form.get('assertion') ?? '',
              await importSPKI(publicKey, 'RS256'),
              {
                issuer: 'push@natter-test.iam.gserviceaccount.com',
                audience: `${origin}/token`,
              },
            );
            if (payload.scope !== 'https://www.googleapis.com/auth/firebase.messaging')
              throw new Error('scope');
          } catch {
            response.writeHead(401).end();
            return;
          }
          tokensIssued++;
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(
            JSON.stringify({
              access_token: `ya29.local-${tokensIssued}`,
              expires_in: 3600,
              token_type: 'Bearer',
            }),
          );
          return;
        }
        if (request.url !== '/v1/projects/natter-test/messages:send') {
          response.writeHead(404).end();
          return;
        }
        if (!/^Bearer ya29\.local-\d+$/.test(String(request.headers.authorization))) {
          response.writeHead(401).end();
          return;
        }
        const { message } = JSON.parse(body) as { message: { token: string } };
        if (unregistered.has(message.token)) {
          response.writeHead(404, { 'content-type': 'application/json' });
          response.end(
            JSON.stringify({
              error: { code: 404, status: 'NOT_FOUND', details: [{ errorCode: 'UNREGISTERED' }] },
            }),
          );
          return;
        }
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ name: 'projects/natter-test/messages/1' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function provider(clock: ManualClock): FcmProvider {
    return new FcmProvider(
      {
        projectId: 'natter-test',
        clientEmail: 'push@natter-test.iam.gserviceaccount.com',
        privateKey,
        tokenUri: `${origin}/token`,
        apiOrigin: origin,
      },
      new Http2Origins({ ca: cert }),
      clock,
    );
  }

  const message = { title: 'Natter', body: 'New message from Ann', conversationId: 'c1', badge: 4 };

  it('sends the documented message with a bearer token from the service-account JWT, reused until it expires', async () => {
    const clock = new ManualClock();
    const fcm = provider(clock);
    try {
      const before = tokensIssued;
      expect(await fcm.send({ provider: 'fcm', token: 'device-1', keys: null }, message)).toEqual({
        status: 'sent',
      });
      expect(await fcm.send({ provider: 'fcm', token: 'device-2', keys: null }, message)).toEqual({
        status: 'sent',
      });
      expect(tokensIssued).toBe(before + 1);
      const send = seen.filter((s) => s.path.endsWith('messages:send')).at(-1)!;
      expect(send.headers[':method']).toBe('POST');
      expect(send.headers['content-type']).toBe('application/json');
      expect(JSON.parse(send.body)).toEqual({
        message: {
          token: 'device-2',
          notification: { title: 'Natter', body: 'New message from Ann' },
          data: { conversation_id: 'c1', badge: '4' },
          android: { collapse_key: 'c1', notification: { tag: 'c1' } },
          apns: { payload: { aps: { badge: 4 } } },
        },
      });
      await clock.advance(3600_000);
      expect(await fcm.send({ provider: 'fcm', token: 'device-1', keys: null }, message)).toEqual({
        status: 'sent',
      });
      expect(tokensIssued).toBe(before + 2);
    } finally {
      await fcm.close();
    }
  });

  it('says gone for an UNREGISTERED token, and retry when FCM cannot be reached', async () => {
    const clock = new ManualClock();
    const fcm = provider(clock);
    try {
      expect((await fcm.send({ provider: 'fcm', token: 'dead-token', keys: null }, message)).status).toBe(
        'gone',
      );
    } finally {
      await fcm.close();
    }
    const unreachable = new FcmProvider(
      {
        projectId: 'natter-test',
        clientEmail: 'push@natter-test.iam.gserviceaccount.com',
        privateKey,
        tokenUri: 'https://127.0.0.1:1/token',
        apiOrigin: 'https://127.0.0.1:1',
      },
      new Http2Origins({ ca: cert }),
      clock,
    );
    expect((await unreachable.send({ provider: 'fcm', token: 'device-1', keys: null }, message)).status).toBe(
      'retry',
    );
    await unreachable.close();
  });
});
