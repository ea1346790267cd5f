import type { FoundUser, UserProfile } from '@natter/protocol';
import type { UserRecord } from '../store/account-store.js';

/** What others may know of a user, as every answer that names users carries it. */
export function profileOf(user: UserRecord): UserProfile {
  return {
    user_id: user.id,
    username: user.username,
    display_name: user.displayName,
    avatar: user.avatarTag,
    ...(user.bot ? { bot: true as const } : {}),
  };
}

export function foundUserOf(user: UserRecord, contact: boolean): FoundUser {
  return { ...profileOf(user), contact };
}
