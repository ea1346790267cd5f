import { z } from 'zod';

/**
 * Registering a device for push notifications (`POST /v1/push/devices`, bearer-authenticated):
 * a browser sends its Web Push subscription (`PushSubscription.toJSON()`), a mobile app its FCM
 * registration token or APNs device token. See docs/protocol.md, "Push notifications".
 */
export const PushDeviceBody = z.discriminatedUnion('provider', [
  z.strictObject({
    provider: z.literal('webpush'),
    endpoint: z.url({ protocol: /^https$/ }).max(2048),
    keys: z.strictObject({
      p256dh: z.string().regex(/^[A-Za-z0-9_-]{80,100}$/),
      auth: z.string().regex(/^[A-Za-z0-9_-]{16,32}$/),
    }),
  }),
  z.strictObject({ provider: z.literal('fcm'), token: z.string().min(1).max(4096) }),
  z.strictObject({ provider: z.literal('apns'), token: z.string().regex(/^[0-9a-fA-F]{64,200}$/) }),
]);
export type PushDeviceBody = z.infer<typeof PushDeviceBody>;

/** `DELETE /v1/push/devices`: forget one device (the endpoint or token it registered). */
export const PushDeviceRemoval = z.strictObject({ token: z.string().min(1).max(4096) });

/** `GET /v1/push/config`: what a client needs to subscribe (null: Web Push is off here). */
export interface PushConfigAnswer {
  vapid_public_key: string | null;
  providers: Array<'webpush' | 'fcm' | 'apns'>;
}

/**
 * What a push carries (the Web Push payload, decrypted; FCM `data`; APNs custom keys): a wake-up.
 * `body` is "New message from ‹sender›" unless the deployment opted into previews. Open
 * `conversation_id` and resume from your change token; `badge` is your unread total.
 */
export interface PushPayload {
  title: string;
  body: string;
  conversation_id: string;
  badge: number;
}
