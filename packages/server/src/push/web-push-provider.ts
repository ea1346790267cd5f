import { createHash } from 'node:crypto';
import type { Agent } from 'node:https';
import webPush from 'web-push';
import type { PushMessage, PushOutcome, PushProvider, PushTarget } from './push-provider.js';

export interface WebPushCredentials {
  /** The VAPID key pair (base64url, as `web-push generate-vapid-keys` prints it). */
  publicKey: string;
  privateKey: string;
  /** Who runs this server, for the push service's operators: `mailto:` or `https:` URL. */
  subject: string;
  /** How long (s) the push service keeps a push for a device that is offline. */
  ttlSeconds: number;
}

/**
 * Web Push (RFC 8030) with VAPID (RFC 8292) and an aes128gcm-encrypted payload (RFC 8291), through
 * the `web-push` library: the browser's push service (FCM for Chrome, Mozilla's autopush, Apple's)
 * is the subscription's endpoint URL.
 */
export class WebPushProvider implements PushProvider {
  readonly name = 'webpush' as const;

  constructor(
    private readonly credentials: WebPushCredentials,
    /** Connections to the push services (tests pass one that trusts their own certificate). */
    private readonly agent?: Agent,
  ) {}

  get publicKey(): string {
    return this.credentials.publicKey;
  }

  async send(target: PushTarget, message: PushMessage): Promise<PushOutcome> {
    if (target.keys === null) return { status: 'gone', detail: 'a Web Push target needs its keys' };
    const { publicKey, privateKey, subject, ttlSeconds } = this.credentials;
    try {
      await webPush.sendNotification(
        { endpoint: target.token, keys: target.keys },
        JSON.stringify(webPushPayload(message)),
        {
          vapidDetails: { subject, publicKey, privateKey },
          TTL: ttlSeconds,
          contentEncoding: 'aes128gcm',
          urgency: 'high',
          // One pending push per conversation at the push service: a newer one replaces it.
          topic: topicOf(message.conversationId),
          ...(this.agent ? { agent: this.agent } : {}),
        },
      );
      return { status: 'sent' };
    } catch (error) {
      return outcomeOf(error);
    }
  }

  async close(): Promise<void> {}
}

/** What the service worker receives (decrypted): see docs/protocol.md, "Push notifications". */
export function webPushPayload(message: PushMessage) {
  return {
    title: message.title,
    body: message.body,
    conversation_id: message.conversationId,
    badge: message.badge,
  };
}

/** RFC 8030 topics are at most 32 base64url characters: a hash of the id, so long ids stay apart. */
function topicOf(conversationId: string): string {
  return createHash('sha256').update(conversationId).digest('base64url').slice(0, 32);
}

function outcomeOf(error: unknown): PushOutcome {
  if (error instanceof webPush.WebPushError) {
    if (error.statusCode === 404 || error.statusCode === 410) {
      return { status: 'gone', detail: `push service answered ${error.statusCode}` };
    }
    return { status: 'retry', detail: `push service answered ${error.statusCode}` };
  }
  return { status: 'retry', detail: error instanceof Error ? error.message : String(error) };
}
