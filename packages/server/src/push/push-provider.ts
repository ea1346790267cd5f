/** Which service carries a device's pushes. */
export type PushProviderName = 'webpush' | 'fcm' | 'apns';

/**
 * Where a push goes: the address a device registered. For `webpush`, `token` is the subscription's
 * endpoint URL and `keys` its `p256dh` and `auth` (base64url); for `fcm` and `apns`, `token` is the
 * registration token / device token and `keys` is null.
 */
export interface PushTarget {
  provider: PushProviderName;
  token: string;
  keys: { p256dh: string; auth: string } | null;
}

/**
 * What a push says: a wake-up, not the content. `title` and `body` are what the device shows
 * ("New message from Ann"); the app opens `conversationId` and resumes from its change token.
 * `badge` is the user's unread total as the server counts it.
 */
export interface PushMessage {
  title: string;
  body: string;
  conversationId: string;
  badge: number;
}

/**
 * How one delivery ended:
 * - `sent`: the service accepted it (it may still deliver later; that is the service's job);
 * - `gone`: the service says the token is dead (Web Push 404/410, FCM `UNREGISTERED`, APNs 410
 *   `Unregistered` / 400 `BadDeviceToken`): the caller forgets the device and never retries;
 * - `retry`: a transient failure (network, 429, 5xx): the caller retries later with backoff.
 * `detail` says why, for the log.
 */
export type PushOutcome = { status: 'sent' } | { status: 'gone' | 'retry'; detail: string };

/**
 * One push service (Web Push, FCM or APNs) behind one port. Contract:
 * - `send` delivers one message to one target of this provider and never rejects: every failure is
 *   an outcome (`gone` or `retry`), so a queue can act on it without knowing the service.
 * - A provider exists only when its credentials are configured; a target of a provider that is off
 *   is not registrable.
 * - `close` releases connections (APNs and FCM keep HTTP/2 sessions open).
 */
export interface PushProvider {
  readonly name: PushProviderName;
  send(target: PushTarget, message: PushMessage): Promise<PushOutcome>;
  close(): Promise<void>;
}
