import type { MessageView } from '@natter/client';
import { type ConversationSummary, mayPost, type NotificationLevel } from '@natter/protocol/core';
import { memo, useEffect, useMemo, useRef, useState } from 'react';
import type { ChatSession } from '../chat-session.js';
import { connectionStatus } from '../connection-status.js';
import { countOf, formatLastSeen } from '../format.js';
import { lastEditable, type MessageHandlers, takeBackRefused } from '../message-actions.js';
import { useNow, useSession } from '../use-session.js';
import { Avatar } from './avatar.js';
import { BotBadge } from './bot-badge.js';
import { ChannelBadge } from './channel-badge.js';
import { Composer, type Editing } from './composer.js';
import { useConfirm } from './confirm-dialog.js';
import { ConversationMenu, NOTIFICATION_LABELS } from './conversation-menu.js';
import { Icon } from './icons.js';
import { MembersPanel } from './members-panel.js';
import { MessageList } from './message-list.js';
import { PinnedPanel } from './pinned-panel.js';

interface Props {
  session: ChatSession;
  summary: ConversationSummary;
  onBack: () => void;
  /** "Reply in thread" or a thread's summary chip: the thread under the message at `rootSeq`. */
  onOpenThread: (rootSeq: number) => void;
}

const TOAST_MS = 2500;

/**
 * One conversation: header with presence or typing, the pinned messages and the settings menu;
 * the messages; and the composer, which also edits and replies.
 */
export const ConversationView = memo(function ConversationView({
  session,
  summary,
  onBack,
  onOpenThread,
}: Props) {
  const id = summary.conversation_id;
  const version = useSession(session, (s) => s.state.versionOf(id));
  const connection = useSession(session, (s) => s.connection);
  useSession(session, (s) => s.peopleVersion);
  const now = useNow();
  const [editing, setEditing] = useState<Editing | null>(null);
  /** Moves when a refused message's text is put back in the composer, which then starts anew from the draft. */
  const [restored, setRestored] = useState(0);
  const [replyingTo, setReplyingTo] = useState<MessageView | null>(null);
  const [showMembers, setShowMembers] = useState(false);
  const [headerPanel, setHeaderPanel] = useState<{ kind: 'pins' | 'menu'; anchor: HTMLElement } | null>(null);
  const [toast, notify] = useToast();
  const [confirmDialog, confirm] = useConfirm();
  const member = summary.left_seq === null;
  const handlers = useMemo<MessageHandlers>(
    () => ({
      reply(message) {
        setEditing(null);
        setReplyingTo(message);
      },
      edit(message) {
        setReplyingTo(null);
        setEditing({ seq: message.seq!, body: message.body ?? '' });
      },
      openThread(message) {
        if (message.seq !== null) onOpenThread(message.seq);
      },
      // Only where the composer is: after leaving, the text stays on the bubble to copy instead.
      restoreText: member
        ? (message) => {
            setEditing(null);
            takeBackRefused(session, message);
            setRestored((count) => count + 1);
          }
        : undefined,
      notify,
      confirm,
    }),
    [notify, confirm, onOpenThread, session, member],
  );
  const timeline = session.state.timeline(id);
  const typing = session.state.typingIn(id).filter((user) => user !== session.account.userId);
  const title = session.titleOf(summary);
  const peer =
    summary.kind === 'direct' && summary.peer_id !== session.account.userId ? summary.peer_id : null;
  // A bot has no presence worth showing: the header says what it is instead.
  const botPeer = peer !== null && session.profiles.isBot(peer);
  const presence = peer && !botPeer ? session.presenceOf(peer) : undefined;

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

  // Offline, the header says so in place of presence (which cannot be vouched for then), at every width.
  const waiting = connectionStatus(connection);
  let status: string;
  if (waiting) status = waiting;
  else if (typing.length > 0) status = typingText(typing.map((user) => session.profiles.nameOf(user)));
  else if (summary.kind === 'channel')
    status = `Channel · ${countOf(summary.member_count, 'member', 'members')}${summary.posting === 'admins' ? ' · admins post' : ''}`;
  else if (summary.kind === 'group') status = countOf(summary.member_count, 'member', 'members');
  else if (botPeer) status = 'Automated account';
  else if (presence) status = presence.online ? 'online' : formatLastSeen(presence.last_seen, now);
  else status = '';

  function setNotifications(level: NotificationLevel) {
    session.client
      .setNotifications(id, level)
      .then(() => notify(`Notifications: ${NOTIFICATION_LABELS[level]}`))
      .catch(() => notify('The setting could not be saved. Try again when you are online.'));
  }

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
        <Avatar
          name={title}
          online={peer && !botPeer ? (presence?.online ?? false) : undefined}
          src={peer ? session.avatarUrlOf(peer) : undefined}
        />
        <div className="conversation-heading">
          <h2>
            {summary.kind === 'channel' && <ChannelBadge />}
            {title}
            {botPeer && <BotBadge />}
          </h2>
          <p
            className={`conversation-status${waiting ? ' connection' : typing.length > 0 ? ' typing' : ''}`}
            data-connection={waiting ? connection : undefined}
            aria-live="polite"
          >
            {status}
          </p>
        </div>
        {summary.pinned.length > 0 && (
          <button
            type="button"
            className="header-chip"
            aria-label={`Pinned messages (${summary.pinned.length})`}
            title="Pinned messages"
            aria-expanded={headerPanel?.kind === 'pins'}
            onClick={(event) => setHeaderPanel({ kind: 'pins', anchor: event.currentTarget })}
          >
            <Icon name="pin" />
            <span aria-hidden="true">{summary.pinned.length}</span>
          </button>
        )}
        {summary.kind !== 'direct' && member && (
          <button
            type="button"
            className="ghost desktop-only"
            aria-expanded={showMembers}
            onClick={() => setShowMembers(!showMembers)}
          >
            Members
          </button>
        )}
        {member && (
          <button
            type="button"
            className="icon-button"
            aria-label="Conversation settings"
            title={`Notifications: ${NOTIFICATION_LABELS[summary.notifications]}`}
            aria-expanded={headerPanel?.kind === 'menu'}
            onClick={(event) => setHeaderPanel({ kind: 'menu', anchor: event.currentTarget })}
          >
            <Icon name={summary.notifications === 'all' ? 'more' : 'bellOff'} />
          </button>
        )}
      </header>
      {headerPanel?.kind === 'pins' && (
        <PinnedPanel
          session={session}
          summary={summary}
          anchor={headerPanel.anchor}
          onClose={() => setHeaderPanel(null)}
          onMissing={() => notify('That message cannot be shown.')}
        />
      )}
      {headerPanel?.kind === 'menu' && (
        <ConversationMenu
          anchor={headerPanel.anchor}
          level={summary.notifications}
          onLevel={setNotifications}
          onMembers={summary.kind !== 'direct' ? () => setShowMembers(true) : undefined}
          onClose={() => setHeaderPanel(null)}
        />
      )}
      <div className="conversation-body">
        <MessageList
          session={session}
          summary={summary}
          timeline={timeline}
          handlers={handlers}
          editingSeq={editing?.seq ?? null}
        />
        {showMembers && summary.kind !== 'direct' && member && (
          <MembersPanel
            session={session}
            summary={summary}
            confirm={confirm}
            onClose={() => setShowMembers(false)}
          />
        )}
      </div>
      {member && !mayPost(summary) ? (
        <p className="composer-closed read-only">
          <Icon name="megaphone" />
          Only admins can post in this channel. You can read, react and follow threads.
        </p>
      ) : member ? (
        <Composer
          key={editing ? `edit-${editing.seq}` : `new-${restored}`}
          session={session}
          summary={summary}
          editing={editing}
          onDoneEditing={() => setEditing(null)}
          replyingTo={replyingTo}
          onCancelReply={() => setReplyingTo(null)}
          onEditLast={() => {
            const messages = timeline.flatMap((item) => (item.type === 'message' ? [item.message] : []));
            const last = lastEditable(messages, session.account.userId);
            if (last) handlers.edit(last);
            return last !== undefined;
          }}
        />
      ) : (
        <p className="composer-closed">
          You are no longer a member of this conversation.
          {summary.kind !== 'direct' && (
            <button
              type="button"
              className="link"
              onClick={async () => {
                const sure = await confirm({
                  title: `Hide “${title}”?`,
                  body: 'It leaves your conversation list on all your devices, until someone adds you again.',
                  confirmLabel: 'Hide',
                });
                if (!sure) return;
                try {
                  await session.client.hideConversation(id);
                  onBack();
                } catch {
                  notify('Could not hide it: try again when you are online.');
                }
              }}
            >
              Hide
            </button>
          )}
        </p>
      )}
      {toast !== null && (
        <div className="toast" role="status">
          {toast}
        </div>
      )}
      {confirmDialog}
    </section>
  );
});

function typingText(names: string[]): string {
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}

/** A line shown for a few seconds ("Copied"); showing another replaces it. */
export function useToast(): [string | null, (text: string) => void] {
  const [text, setText] = useState<string | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  const show = useMemo(
    () => (next: string) => {
      clearTimeout(timer.current);
      setText(next);
      timer.current = setTimeout(() => setText(null), TOAST_MS);
    },
    [],
  );
  return [text, show];
}
