import { z } from 'zod';
import { SendFrame } from './client-frames.js';
import { AddMemberBody, CreateGroupBody, HistoryQuery } from './http.js';

/**
 * Bodies of the server API (`/v1/server/...`), which a product's backend calls with an API key
 * rather than a user's token: it acts on behalf of the user it names. docs/protocol.md §Server API.
 */

const userId = z.string().min(1).max(128);

/** What an API key may do; each route needs one. */
export const API_KEY_SCOPES = ['users', 'conversations', 'messages', 'webhooks'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** Creates a user known by the product's own id (idempotent), as a trusted JWT's `sub` would. */
export const ServerCreateUserBody = z.strictObject({
  user_id: userId,
  display_name: z.string().min(1).max(64).optional(),
  /** An automated sender (shown as a bot to the people it writes to). */
  bot: z.boolean().optional(),
});

/** A group created by `creator_id`, who becomes its owner. */
export const ServerCreateGroupBody = CreateGroupBody.extend({ creator_id: userId });

/** Membership changes, made as `actor_id` (who needs the same rights as over WebSocket). */
export const ServerAddMemberBody = AddMemberBody.extend({ actor_id: userId });

export const ServerActorBody = z.strictObject({ actor_id: userId });

/** A message sent as `sender_id`: the WebSocket `send` frame's fields without `type` and `id`. */
export const ServerSendBody = SendFrame.omit({ type: true, id: true, conversation_id: true }).extend({
  sender_id: userId,
});

/** A page of history as `user_id` sees it, newest first before `before_seq`. */
export const ServerHistoryQuery = HistoryQuery.extend({ user_id: userId });

export type ServerSendBody = z.infer<typeof ServerSendBody>;

/** What a webhook may subscribe to; `membership` covers members added, removed or leaving and role changes. */
export const WEBHOOK_EVENT_TYPES = ['message', 'edit', 'delete', 'reaction', 'membership'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

const webhookUrl = z.url({ protocol: /^https?$/, error: 'The URL must be http:// or https://.' }).max(2048);
const webhookEvents = z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1).max(WEBHOOK_EVENT_TYPES.length);

/** Registers a URL for some event types; the answer carries its signing secret, once. */
export const ServerCreateWebhookBody = z.strictObject({
  url: webhookUrl,
  events: webhookEvents,
  description: z.string().max(200).optional(),
});

/** Changes a webhook; fields left out stay as they are. */
export const ServerUpdateWebhookBody = z.strictObject({
  url: webhookUrl.optional(),
  events: webhookEvents.optional(),
  description: z.string().max(200).nullable().optional(),
  enabled: z.boolean().optional(),
});

/** A page of a webhook's deliveries, newest first, before `before` (a delivery's created_at). */
export const ServerDeliveriesQuery = z.strictObject({
  before: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
});
