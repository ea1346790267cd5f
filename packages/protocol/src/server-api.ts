import { z } from 'zod';
import { SendFrame } from './client-frames.js';
import { AddMemberBody, CreateGroupBody, HistoryQuery } from './http.js';

/**
 * Bodies of the server API (`/v1/server/...`), which a product's backend calls with an API key
 * rather than a user's token: it acts on behalf of the user it names. docs/protocol.md §Server API.
 */

const userId = z.string().min(1).max(128);

/** What an API key may do; each route needs one. */
export const API_KEY_SCOPES = ['users', 'conversations', 'messages'] as const;
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
