import { createECDH, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { Agent, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { decrypt } from 'http_ece';
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { selfSignedCertificate } from './self-signed.js';

/** One push as the endpoint received it, decrypted with the subscription's keys. */
export interface ReceivedPush {
  /** The path of the subscription it was for. */
  path: string;
  payload: unknown;
  ttl: string | undefined;
  topic: string | undefined;
  urgency: string | undefined;
  /** The VAPID JWT's claims, verified against the key the request carried. */
  vapid: { aud: unknown; sub: unknown; publicKey: string };
}

/** A browser's subscription to the local push service: what PushManager.subscribe() returns. */
export interface LocalSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/**
 * A push service on https://127.0.0.1 (a self-signed certificate: `agent` trusts it) speaking the Web Push protocol as a browser vendor's would: RFC 8030
 * (POST to the subscription URL, TTL header, 201 with a Location), RFC 8292 VAPID (`Authorization:
 * vapid t=<ES256 JWT>, k=<public key>`, the JWT's `aud` the endpoint's origin, checked), RFC 8291
 * (aes128gcm body, decrypted with the subscription's private key and auth secret). A subscription
 * can be made gone (410), as a service answers for a browser that unsubscribed.
 */
export class WebPushEndpoint {
  readonly received: ReceivedPush[] = [];
  private readonly subscriptions = new Map<string, { ecdh: ReturnType<typeof createECDH>; auth: string }>();
  private readonly gone = new Set<string>();
  private readonly waiters: Array<() => void> = [];
  private nextId = 1;

  private constructor(
    private readonly server: Server,
    readonly origin: string,
    /** An HTTPS agent that trusts this service's certificate, for the provider under test. */
    readonly agent: Agent,
  ) {}

  static async start(): Promise<WebPushEndpoint> {
    let endpoint: WebPushEndpoint | undefined;
    const tls = selfSignedCertificate();
    const server = createServer(tls, (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        endpoint!.receive(request.url ?? '', request.headers, Buffer.concat(chunks)).then(
          ([status, location]) => {
            response.writeHead(status, location ? { location } : {});
            response.end();
          },
          (error: unknown) => {
            response.writeHead(400);
            response.end(String(error));
          },
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    endpoint = new WebPushEndpoint(server, `https://127.0.0.1:${port}`, new Agent({ ca: tls.cert }));
    return endpoint;
  }

  /** A new subscription, with keys generated as a browser does (P-256 key pair, 16-byte secret). */
  subscribe(): LocalSubscription {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const auth = randomBytes(16).toString('base64url');
    const path = `/push/${this.nextId++}`;
    this.subscriptions.set(path, { ecdh, auth });
    return {
      endpoint: `${this.origin}${path}`,
      keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth },
    };
  }

  /** From now on, pushes to it answer 410 Gone. */
  unsubscribe(subscription: LocalSubscription): void {
    this.gone.add(new URL(subscription.endpoint).pathname);
  }

  /** Resolves once `count` pushes have arrived in all. */
  async until(count: number): Promise<void> {
    while (this.received.length < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  close(): Promise<void> {
    this.agent.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async receive(
    path: string,
    headers: Record<string, string | string[] | undefined>,
    body: Buffer,
  ): Promise<[number, string?]> {
    if (this.gone.has(path)) return [410];
    const subscription = this.subscriptions.get(path);
    if (!subscription) return [404];
    if (headers['content-encoding'] !== 'aes128gcm') return [415];
    if (headers.ttl === undefined) return [400];
    const vapid = await this.verifyVapid(String(headers.authorization ?? ''));
    const plain = decrypt(body, {
      version: 'aes128gcm',
      privateKey: subscription.ecdh,
      authSecret: subscription.auth,
    });
    this.received.push({
      path,
      payload: JSON.parse(plain.toString('utf8')),
      ttl: headerOf(headers.ttl),
      topic: headerOf(headers.topic),
      urgency: headerOf(headers.urgency),
      vapid,
    });
    for (const wake of this.waiters.splice(0)) wake();
    return [201, `${this.origin}/message/${this.received.length}`];
  }

  /** RFC 8292 section 3: `vapid t=<jwt>, k=<uncompressed P-256 public key, base64url>`. */
  private async verifyVapid(authorization: string): Promise<ReceivedPush['vapid']> {
    const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(authorization);
    if (!match) throw new Error(`not a VAPID authorization: ${authorization}`);
    const [, token, publicKey] = match as unknown as [string, string, string];
    if (decodeProtectedHeader(token).alg !== 'ES256') throw new Error('VAPID JWT is not ES256');
    const raw = Buffer.from(publicKey, 'base64url');
    const key = await importJWK(
      {
        kty: 'EC',
        crv: 'P-256',
        x: raw.subarray(1, 33).toString('base64url'),
        y: raw.subarray(33, 65).toString('base64url'),
      },
      'ES256',
    );
    const { payload } = await jwtVerify(token, key, { audience: this.origin });
    return { aud: payload.aud, sub: payload.sub, publicKey };
  }
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
