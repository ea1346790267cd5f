import type { NoticeView } from '@natter/client';
import type { Role } from '@natter/protocol';

const ROLE_PHRASES: Record<Role, string> = {
  owner: 'an owner',
  admin: 'an admin',
  member: 'a regular member',
};

/**
 * The line a notice shows in the timeline: "Alice added Bob", "You left", "Alice renamed the group
 * to “Trip”". `nameOf` gives display names; you are "You" (or "you" after a verb). Null for a notice
 * not worth a line (a direct conversation's creation).
 */
export function noticeText(
  notice: NoticeView,
  me: string,
  nameOf: (userId: string) => string,
  group: boolean,
): string | null {
  const actor = notice.actorId === me ? 'You' : nameOf(notice.actorId);
  const subject = notice.userId === null ? 'someone' : notice.userId === me ? 'you' : nameOf(notice.userId);
  const quoted = notice.title === null ? '' : ` “${notice.title}”`;
  switch (notice.kind) {
    case 'created':
      return group ? `${actor} created the group${quoted}` : null;
    case 'member_added':
      return notice.userId === notice.actorId ? `${actor} joined` : `${actor} added ${subject}`;
    case 'member_removed':
      return `${actor} removed ${subject}`;
    case 'member_left':
      return `${notice.userId === me ? 'You' : nameOf(notice.userId ?? notice.actorId)} left`;
    case 'role_changed':
      return `${actor} made ${subject} ${ROLE_PHRASES[notice.role ?? 'member']}`;
    case 'renamed':
      return notice.title === null
        ? `${actor} removed the group name`
        : `${actor} renamed the group to${quoted}`;
  }
}
