import type { ThreadSummary } from '@natter/protocol/core';
import type { ChatSession } from '../chat-session.js';
import { countOf, formatAgo } from '../format.js';
import { useNow } from '../use-session.js';
import { Avatar } from './avatar.js';

/** How many of the thread's latest repliers show as faces on the chip. */
const FACES_SHOWN = 3;

interface Props {
  session: ChatSession;
  thread: ThreadSummary;
  onOpen: () => void;
}

/**
 * Under a message with replies: the latest repliers' faces, "3 replies", when the last one came,
 * and a dot while a thread you follow has replies you have not read. A click opens the thread.
 */
export function ThreadSummaryChip({ session, thread, onOpen }: Props) {
  const now = useNow();
  const unread = thread.following ? thread.unread : 0;
  const count = countOf(thread.reply_count, 'reply', 'replies');
  return (
    <button
      type="button"
      className={`thread-chip${unread > 0 ? ' unread' : ''}`}
      title="Open the thread"
      onClick={onOpen}
    >
      <span className="thread-faces">
        {thread.participants.slice(0, FACES_SHOWN).map((userId) => (
          <Avatar key={userId} name={session.profiles.nameOf(userId)} />
        ))}
      </span>
      <span className="thread-count">{count}</span>
      {unread > 0 && (
        <span className="thread-unread-dot">
          <span className="sr-only">{`, ${unread} unread`}</span>
        </span>
      )}
      <span className="thread-last">Last reply {formatAgo(thread.last_reply_at, now)}</span>
    </button>
  );
}
