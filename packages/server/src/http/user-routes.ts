import { LookupUsersBody, type UserProfile, UserSearchParams } from '@natter/protocol';
import type { FastifyInstance } from 'fastify';
import type { AccountService } from '../auth/account-service.js';
import type { ConversationService } from '../chat/conversation-service.js';
import { KeyedRateLimit } from '../limits/keyed-rate-limit.js';
import { profileOf } from '../users/user-profile.js';
import type { UserSearch } from '../users/user-search.js';
import type { RouteKit } from './http-server.js';

/**
 * Profiles for showing names. By username anyone can be found (that is how a 1:1 starts); by id
 * only users who share a conversation with the caller, so ids seen nowhere else reveal nothing.
 * Unknown or invisible users are simply absent from the answer. Lookups are throttled per user
 * (and usernames capped per request), so the endpoint is no cheap way to enumerate accounts.
 */
const LOOKUPS_PER_SECOND = 2;
const LOOKUP_BURST = 60;

/**
 * Searches as you type (one per keystroke after the debounce, in bursts), but not a crawl: at
 * 1 per second sustained, listing a directory 20 names at a time by every two-letter prefix
 * (about 1,300 of them) takes more than 20 minutes and still misses most of a large one.
 */
const SEARCHES_PER_SECOND = 1;
const SEARCH_BURST = 30;

export function registerUserRoutes(
  app: FastifyInstance,
  kit: RouteKit,
  accounts: AccountService,
  conversations: ConversationService,
  userSearch: UserSearch,
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
    for (const user of [...byId, ...byName]) if (user) users.set(user.id, profileOf(user));
    return { users: [...users.values()] };
  });

  const searches = new KeyedRateLimit(SEARCHES_PER_SECOND, SEARCH_BURST);
  app.get('/v1/users/search', async (request) => {
    const { userId } = await kit.identify(request);
    searches.take(userId);
    const { q } = kit.parse(UserSearchParams, request.query);
    return { users: await userSearch.search(userId, q) };
  });
}
