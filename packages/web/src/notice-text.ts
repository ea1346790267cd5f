import type { NoticeView } from '@natter/client';
import type { ConversationKind, Role } from '@natter/protocol/core';

const ROLE_PHRASES: Record<Role, string> = {
  owner: 'an owner',
  admin: 'an admin',
  member: 'a regular member',
};

/** The most a pin's line quotes of the message pinned, in characters. */
const PIN_QUOTE_CHARS = 40;

/**
 * The line a notice shows in the timeline: "Alice added Bob", "You left", "Alice renamed the group
 * to “Trip”", "Alice pinned “Lunch at noon”". `nameOf` gives display names; you are "You" (or "you"
 * after a verb). `textOf` gives a held message's text, to quote the message a pin is about ("a
 * message" when it is not held or has no text). Null for a notice not worth a line (a direct
 * conversation's creation).
 */
export function noticeText(
  notice: NoticeView,
  me: string,
  nameOf: (userId: string) => string,
  kind: ConversationKind,
  textOf: (seq: number) => string | null = () => null,
): string | null {
  const actor = notice.actorId === me ? 'You' : nameOf(notice.actorId);
  const subject = notice.userId === null ? 'someone' : notice.userId === me ? 'you' : nameOf(notice.userId);
  const quoted = notice.title === null ? '' : ` “${notice.title}”`;
  const room = kind === 'channel' ? 'channel' : 'group';
  switch (notice.kind) {
    case 'created':
      return kind === 'direct' ? null : `${actor} created the ${room}${quoted}`;
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
        ? `${actor} removed the ${room} name`
        : `${actor} renamed the ${room} to${quoted}`;
    case 'pinned':
    case 'unpinned': {
      const text = notice.refSeq === null ? null : textOf(notice.refSeq);
      const what = text ? `“${clip(text, PIN_QUOTE_CHARS)}”` : 'a message';
      return `${actor} ${notice.kind} ${what}`;
    }
    case 'settings_changed':
      if (notice.posting !== null)
        return notice.posting === 'admins'
          ? `${actor} allowed only admins to post`
          : `${actor} allowed everyone to post`;
      return notice.groupMentions === 'admins'
        ? `${actor} allowed only admins to mention @all and @here`
        : `${actor} allowed everyone to mention @all and @here`;
  }
}

/** At most `max` characters (code points, so no emoji is cut in half), with "…" when cut. */
export function clip(text: string, max: number): string {
  const chars = [...text.trim()];
  return chars.length <= max
    ? chars.join('')
    : `${chars
        .slice(0, max - 1)
        .join('')
        .trimEnd()}…`;
}
