import { type FoundUser, MAX_USER_SEARCH_RESULTS } from '@natter/protocol';
import type { AccountStore, UserCandidate } from '../store/account-store.js';
import { nameWords, queryWords } from '../store/name-words.js';
import { foundUserOf } from './user-profile.js';

/** Candidates the store reads per search, of contacts and of others each: far above the answer. */
const CANDIDATES = 200;

/**
 * Finding people to talk to, without listing the directory: a user matches when each word of the
 * query starts one of their name words (username, display-name words). At most
 * MAX_USER_SEARCH_RESULTS answers, no next page: contacts first (people in a conversation with
 * you now), then an exact username, then the other matches, each group by name. The query's
 * length and the caller's rate are checked before (UserSearchParams, the route's limit).
 */
export class UserSearch {
  constructor(private readonly accounts: AccountStore) {}

  async search(callerId: string, query: string): Promise<FoundUser[]> {
    const words = queryWords(query);
    // The longest word narrows the index range the most.
    const longest = words.reduce((a, b) => (b.length > a.length ? b : a), '');
    if (!longest) return [];
    const candidates = await this.accounts.findUsers({ callerId, word: longest, limit: CANDIDATES });
    const exact = query.trim().toLowerCase();
    return candidates
      .filter(({ user }) => {
        const own = nameWords(user.username, user.displayName);
        return words.every((word) => own.some((name) => name.startsWith(word)));
      })
      .map((candidate) => ({ candidate, rank: rankOf(candidate, exact), name: sortName(candidate) }))
      .sort((a, b) => a.rank - b.rank || a.name.localeCompare(b.name) || compare(a, b))
      .slice(0, MAX_USER_SEARCH_RESULTS)
      .map(({ candidate }) => foundUserOf(candidate.user, candidate.contact));
  }
}

function rankOf({ user, contact }: UserCandidate, exact: string): number {
  const exactUsername = user.username?.toLowerCase() === exact;
  return (contact ? 0 : 2) + (exactUsername ? 0 : 1);
}

function sortName({ user }: UserCandidate): string {
  return (user.displayName ?? user.username ?? user.id).toLowerCase();
}

function compare(a: { candidate: UserCandidate }, b: { candidate: UserCandidate }): number {
  return a.candidate.user.id < b.candidate.user.id ? -1 : 1;
}
