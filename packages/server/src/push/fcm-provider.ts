import { importPKCS8, SignJWT } from 'jose';
import type { Clock } from '../clock.js';
import type { Http2Origins } from './http2-json.js';
import type { PushMessage, PushOutcome, PushProvider, PushTarget } from './push-provider.js';

/** The parts of a Firebase service-account key file that sending needs. */
export interface FcmCredentials {
  projectId: string;
  clientEmail: string;
  /** PEM (PKCS#8), the service account's `private_key`. */
  privateKey: string;
  /** The service account's `token_uri` (Google's OAuth2 token endpoint). */
  tokenUri: string;
  /** FCM's origin: https://fcm.googleapis.com (tests point it at a local server). */
  apiOrigin: string;
}

const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
/** Renew the access token this long before Google says it expires. */
const RENEW_EARLY_MS = 60_000;

/**
 * FCM HTTP v1: an OAuth2 access token from a service-account JWT (RS256, the JWT bearer grant,
 * RFC 7523), cached until shortly before it expires, then `POST /v1/projects/{id}/messages:send`.
 */
export class FcmProvider implements PushProvider {
  readonly name = 'fcm' as const;
  private token: { value: string; renewAt: number } | null = null;

  constructor(
    private readonly credentials: FcmCredentials,
    private readonly http: Http2Origins,
    private readonly clock: Clock,
  ) {}

  async send(target: PushTarget, message: PushMessage): Promise<PushOutcome> {
    try {
      const accessToken = await this.accessToken();
      const url = `${this.credentials.apiOrigin}/v1/projects/${encodeURIComponent(this.credentials.projectId)}/messages:send`;
      const answer = await this.http.request(
        url,
        'POST',
        { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
        JSON.stringify({ message: fcmMessage(target.token, message) }),
      );
      if (answer.status === 200) return { status: 'sent' };
      if (answer.status === 401) this.token = null;
      if (answer.status === 404 || answer.body.includes('UNREGISTERED')) {
        return { status: 'gone', detail: `FCM answered ${answer.status} UNREGISTERED` };
      }
      return { status: 'retry', detail: `FCM answered ${answer.status}` };
    } catch (error) {
      return { status: 'retry', detail: error instanceof Error ? error.message : String(error) };
    }
  }

  async close(): Promise<void> {
    this.http.close();
  }

  private async accessToken(): Promise<string> {
    const now = this.clock.now();
    if (this.token && now < this.token.renewAt) return this.token.value;
    const { clientEmail, privateKey, tokenUri } = this.credentials;
    const iat = Math.floor(now / 1000);
    const assertion = await new SignJWT({ scope: SCOPE })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer(clientEmail)
      .setAudience(tokenUri)
      .setIssuedAt(iat)
      .setExpirationTime(iat + 3600)
      .sign(await importPKCS8(privateKey, 'RS256'));
    const answer = await this.http.request(
      tokenUri,
      'POST',
      { 'content-type': 'application/x-www-form-urlencoded' },
      new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion,
      }).toString(),
    );
    if (answer.status !== 200) throw new Error(`OAuth2 token endpoint answered ${answer.status}`);
    const { access_token: value, expires_in: expiresIn } = JSON.parse(answer.body) as {
      access_token: string;
      expires_in: number;
    };
    this.token = { value, renewAt: now + expiresIn * 1000 - RENEW_EARLY_MS };
    return value;
  }
}

/** A notification the OS shows, plus the data the app reads; one per conversation (collapse key). */
function fcmMessage(token: string, message: PushMessage) {
  return {
    token,
    notification: { title: message.title, body: message.body },
    data: { conversation_id: message.conversationId, badge: String(message.badge) },
    android: { collapse_key: message.conversationId, notification: { tag: message.conversationId } },
    apns: { payload: { aps: { badge: message.badge } } },
  };
}
