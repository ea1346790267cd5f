import type { ConversationSummary } from '@natter/protocol';
import { useEffect, useState } from 'react';
import type { ChatSession } from '../chat-session.js';
import { formatLastSeen } from '../format.js';
import { useNow, useSessionVersion } from '../use-session.js';
import { Avatar } from './avatar.js';
import { Composer, type Editing } from './composer.js';
import { MembersPanel } from './members-panel.js';
import { MessageList } from './message-list.js';

interface Props {
  session: ChatSession;
  summary: ConversationSummary;
  onBack: () => void;
}

/** One conversation: header with presence or typing, the messages, and the composer. */
export function ConversationView({ session, summary, onBack }: Props) {
  const version = useSessionVersion(session);
  const now = useNow();
  const id = summary.conversation_id;
  const [editing, setEditing] = useState<Editing | null>(null);
  const [showMembers, setShowMembers] = useState(false);
  const timeline = session.state.timeline(id);
  const typing = session.state.typingIn(id).filter((user) => user !== session.account.userId);
  const title = session.titleOf(summary);
  const peer =
    summary.kind === 'direct' && summary.peer_id !== session.account.userId ? summary.peer_id : null;
  const presence = peer ? session.presenceOf(peer) : undefined;
  const member = summary.left_seq === null;

  // Reading: whatever is on screen while the tab is visible counts as read, on every device.
  // biome-ignore lint/correctness/useExhaustiveDependencies: every change (version) may bring new messages to mark read
  useEffect(() => {
    const read = () => {
      if (document.visibilityState === 'visible') session.state.markRead(id);
    };
    read();
    document.addEventListener('visibilitychange', read);
    return () => document.removeEventListener('visibilitychange', read);
  }, [session, id, version]);

  let status: string;
  if (typing.length > 0) status = typingText(typing.map((user) => session.profiles.nameOf(user)));
  else if (summary.kind === 'group') status = `${summary.member_count} members`;
  else if (presence) status = presence.online ? 'online' : formatLastSeen(presence.last_seen, now);
  else status = '';

  return (
    <section className="conversation" aria-label={`Conversation with ${title}`}>
      <header className="conversation-header">
        <button
          type="button"
          className="icon-button back"
          onClick={onBack}
          aria-label="Back to conversations"
        >
          <svg viewBox="0 0 24 24" aria-hidden="true">
            <path d="M15 5l-7 7 7 7" />
          </svg>
        </button>
        <Avatar name={title} online={peer ? (presence?.online ?? false) : undefined} />
        <div className="conversation-heading">
          <h2>{title}</h2>
          <p className={`conversation-status${typing.length > 0 ? ' typing' : ''}`} aria-live="polite">
            {status}
          </p>
        </div>
        {summary.kind === 'group' && (
          <button
            type="button"
            className="ghost"
            aria-expanded={showMembers}
            onClick={() => setShowMembers(!showMembers)}
          >
            Members
          </button>
        )}
      </header>
      <div className="conversation-body">
        <MessageList
          session={session}
          summary={summary}
          timeline={timeline}
          onEdit={(message) => setEditing({ seq: message.seq!, body: message.body ?? '' })}
        />
        {showMembers && summary.kind === 'group' && (
          <MembersPanel session={session} summary={summary} onClose={() => setShowMembers(false)} />
        )}
      </div>
      {member ? (
        <Composer
          key={editing ? `edit-${editing.seq}` : 'new'}
          session={session}
          conversationId={id}
          editing={editing}
          onDoneEditing={() => setEditing(null)}
        />
      ) : (
        <p className="composer-closed">You are no longer a member of this conversation.</p>
      )}
    </section>
  );
}

function typingText(names: string[]): string {
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}
