import { randomBytes } from 'node:crypto';

/** A new conversation's id: `c_` and 96 random bits (base64url), unguessable and unique in practice. */
export function newConversationId(): string {
  return `c_${randomBytes(12).toString('base64url')}`;
}

/**
 * The key that makes a direct conversation unique per pair of users, whichever of them starts it
 * (a user alone with themself included). Stored by both adapters: its format must not change.
 */
export function directKeyOf(userId: string, peerId: string): string {
  return [userId, peerId].sort().join('\n');
}
