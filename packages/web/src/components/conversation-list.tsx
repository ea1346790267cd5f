import type { ConversationSummary } from '@natter/protocol/core';
import { type KeyboardEvent, memo } from 'react';
import type { ChatSession } from '../chat-session.js';
import { countOf, formatListTime } from '../format.js';
import { plainText } from '../message-markup.js';
import { useNow, useSession } from '../use-session.js';
import { Avatar } from './avatar.js';
import { ChannelBadge } from './channel-badge.js';
import { Icon } from './icons.js';

interface Props {
  session: ChatSession;
  conversations: ConversationSummary[];
  selectedId: string | null;
  onSelect: (conversationId: string) => void;
}

/**
 * Conversations by last activity, with the last message, presence, the unread badge (grey when
 * the conversation is quieted), an "@" badge while unread messages mention you, and a thread
 * mark with the count of unread replies in the threads you follow.
 */
export const ConversationList = memo(function ConversationList({
  session,
  conversations,
  selectedId,
  onSelect,
}: Props) {
  const now = useNow();
  useSession(session, (s) => s.peopleVersion);
  if (conversations.length === 0) {
    return <p className="list-empty">No conversations yet. Start one with the + button.</p>;
  }
  return (
    <ul className="conversation-list" onKeyDown={moveFocus}>
      {conversations.map((summary) => {
        const title = session.titleOf(summary);
        const presence = summary.peer_id ? session.presenceOf(summary.peer_id) : undefined;
        const unread = summary.unread;
        const selected = summary.conversation_id === selectedId;
        const left = summary.left_seq !== null;
        return (
          <li key={summary.conversation_id}>
            <button
              type="button"
              className={`conversation-item${selected ? ' selected' : ''}${unread > 0 ? ' unread' : ''}${left ? ' left' : ''}`}
              aria-current={selected ? 'true' : undefined}
              data-conversation={summary.conversation_id}
              onClick={() => onSelect(summary.conversation_id)}
            >
              <Avatar
                name={title}
                online={summary.kind === 'direct' ? (presence?.online ?? false) : undefined}
                src={summary.peer_id ? session.avatarUrlOf(summary.peer_id) : undefined}
              />
              <span className="conversation-text">
                <span className="conversation-top">
                  <span className="conversation-title">
                    {summary.kind === 'channel' && <ChannelBadge />}
                    {title}
                  </span>
                  <time className="conversation-time">{formatListTime(summary.updated_at, now)}</time>
                </span>
                <span className="conversation-bottom">
                  <span className="conversation-preview">{preview(session, summary)}</span>
                  {summary.notifications !== 'all' && (
                    <span
                      className="muted-icon"
                      role="img"
                      aria-label={summary.notifications === 'none' ? 'Muted' : 'Mentions only'}
                      title={summary.notifications === 'none' ? 'Muted' : 'Notifies only for mentions'}
                    >
                      <Icon name="bellOff" />
                    </span>
                  )}
                  {summary.thread_unread > 0 && (
                    <span className="thread-badge" title="Unread replies in threads you follow">
                      <Icon name="thread" />
                      {summary.thread_unread > 99 ? '99+' : summary.thread_unread}
                      <span className="sr-only"> unread in threads</span>
                    </span>
                  )}
                  {summary.mentions > 0 && (
                    <span className="badge mention-badge" title="You were mentioned">
                      @<span className="sr-only"> mentioned</span>
                    </span>
                  )}
                  {unread > 0 && (
                    <span className={`badge${summary.notifications === 'all' ? '' : ' quiet'}`}>
                      {unread > 99 ? '99+' : unread}
                      <span className="sr-only"> unread</span>
                    </span>
                  )}
                </span>
              </span>
            </button>
          </li>
        );
      })}
    </ul>
  );
});

/** ↑/↓ move between conversations, Home/End to the first/last; Enter or Space opens (a button's own keys). */
function moveFocus(event: KeyboardEvent<HTMLUListElement>) {
  const step = { ArrowDown: 1, ArrowUp: -1, Home: -Infinity, End: Infinity }[event.key];
  if (step === undefined) return;
  const items = [...event.currentTarget.querySelectorAll<HTMLButtonElement>('.conversation-item')];
  const at = items.indexOf(document.activeElement as HTMLButtonElement);
  if (at === -1) return;
  event.preventDefault();
  const next = Number.isFinite(step) ? at + step : step < 0 ? 0 : items.length - 1;
  items[Math.max(0, Math.min(items.length - 1, next))]?.focus();
}

function preview(session: ChatSession, summary: ConversationSummary): string {
  if (summary.left_seq !== null) return summary.kind === 'direct' ? 'Closed' : 'You are no longer a member';
  const last = summary.last_message;
  if (!last)
    return summary.kind === 'direct' ? 'No messages yet' : countOf(summary.member_count, 'member', 'members');
  const text = last.deleted ? 'Message deleted' : plainText(last.body ?? '');
  if (last.sender_id === session.account.userId) return `You: ${text}`;
  return summary.kind === 'direct' ? text : `${session.profiles.nameOf(last.sender_id)}: ${text}`;
}
