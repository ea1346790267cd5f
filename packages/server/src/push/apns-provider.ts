import { createHash } from 'node:crypto';
import { importPKCS8, SignJWT } from 'jose';
import type { Clock } from '../clock.js';
import type { Http2Origins } from './http2-json.js';
import type { PushMessage, PushOutcome, PushProvider, PushTarget } from './push-provider.js';

export interface ApnsCredentials {
  /** The .p8 signing key (PEM, PKCS#8, P-256) from the Apple developer account. */
  privateKey: string;
  keyId: string;
  teamId: string;
  /** The app's bundle id: the `apns-topic`. */
  topic: string;
  /** https://api.push.apple.com, or https://api.sandbox.push.apple.com for development builds. */
  origin: string;
  /** How long (s) APNs keeps a push for an offline device. */
  ttlSeconds: number;
}

/** Apple refuses provider tokens older than an hour and throttles ones renewed within 20 minutes. */
const TOKEN_RENEW_MS = 45 * 60_000;

/**
 * APNs over HTTP/2 with token-based auth: an ES256 provider JWT (`kid` the key id, `iss` the team
 * id), reused for 45 minutes, on one long-lived connection; `POST /3/device/{token}`.
 */
export class ApnsProvider implements PushProvider {
  readonly name = 'apns' as const;
  private token: { value: string; renewAt: number } | null = null;

  constructor(
    private readonly credentials: ApnsCredentials,
    private readonly http: Http2Origins,
    private readonly clock: Clock,
  ) {}

  async send(target: PushTarget, message: PushMessage): Promise<PushOutcome> {
    const { origin, topic, ttlSeconds } = this.credentials;
    try {
      const answer = await this.http.request(
        `${origin}/3/device/${encodeURIComponent(target.token)}`,
        'POST',
        {
          authorization: `bearer ${await this.providerToken()}`,
          'apns-topic': topic,
          'apns-push-type': 'alert',
          'apns-priority': '10',
          'apns-expiration': String(Math.floor(this.clock.now() / 1000) + ttlSeconds),
          // At most 64 bytes: a hash of the id, so a newer push replaces the older one on the device.
          'apns-collapse-id': createHash('sha256').update(message.conversationId).digest('base64url'),
          'content-type': 'application/json',
        },
        JSON.stringify(apnsPayload(message)),
      );
      if (answer.status === 200) return { status: 'sent' };
      const reason = reasonOf(answer.body);
      if (answer.status === 403 && reason === 'ExpiredProviderToken') this.token = null;
      if (answer.status === 410 || (answer.status === 400 && reason === 'BadDeviceToken')) {
        return { status: 'gone', detail: `APNs answered ${answer.status} ${reason}` };
      }
      return { status: 'retry', detail: `APNs answered ${answer.status} ${reason}` };
    } catch (error) {
      return { status: 'retry', detail: error instanceof Error ? error.message : String(error) };
    }
  }

  async close(): Promise<void> {
    this.http.close();
  }

  private async providerToken(): Promise<string> {
    const now = this.clock.now();
    if (this.token && now < this.token.renewAt) return this.token.value;
    const { privateKey, keyId, teamId } = this.credentials;
    const value = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: keyId })
      .setIssuer(teamId)
      .setIssuedAt(Math.floor(now / 1000))
      .sign(await importPKCS8(privateKey, 'ES256'));
    this.token = { value, renewAt: now + TOKEN_RENEW_MS };
    return value;
  }
}

function apnsPayload(message: PushMessage) {
  return {
    aps: {
      alert: { title: message.title, body: message.body },
      badge: message.badge,
      sound: 'default',
      'thread-id': message.conversationId,
    },
    conversation_id: message.conversationId,
  };
}

function reasonOf(body: string): string {
  try {
    return String((JSON.parse(body) as { reason?: unknown }).reason ?? '');
  } catch {
    return '';
  }
}
