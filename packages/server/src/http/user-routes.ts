import { LookupUsersBody, type UserProfile } from '@natter/protocol';
import type { FastifyInstance } from 'fastify';
import type { AccountService } from '../auth/account-service.js';
import type { ConversationService } from '../chat/conversation-service.js';
import { KeyedRateLimit } from '../limits/keyed-rate-limit.js';
import type { RouteKit } from './http-server.js';

/**
 * Profiles for showing names. By username anyone can be found (that is how a 1:1 starts); by id
 * only users who share a conversation with the caller, so ids seen nowhere else reveal nothing.
 * Unknown or invisible users are simply absent from the answer. Lookups are throttled per user
 * (and usernames capped per request), so the endpoint is no cheap way to enumerate accounts.
 */
const LOOKUPS_PER_SECOND = 2;
const LOOKUP_BURST = 60;

export function registerUserRoutes(
  app: FastifyInstance,
  kit: RouteKit,
  accounts: AccountService,
  conversations: ConversationService,
): void {
  const lookups = new KeyedRateLimit(LOOKUPS_PER_SECOND, LOOKUP_BURST);
  app.post('/v1/users/lookup', async (request) => {
    const { userId } = await kit.identify(request);
    lookups.take(userId);
    const body = kit.parse(LookupUsersBody, request.body);
    const visible = await conversations.contactsAmong(userId, [...new Set(body.user_ids)]);
    const byId = await Promise.all(visible.map((id) => accounts.user(id)));
    const byName = await Promise.all(
      [...new Set(body.usernames)].map((name) => accounts.userByUsername(name)),
    );
    const users = new Map<string, UserProfile>();
    for (const user of [...byId, ...byName]) {
      if (user)
        users.set(user.id, { user_id: user.id, username: user.username, display_name: user.displayName });
    }
    return { users: [...users.values()] };
  });
}
