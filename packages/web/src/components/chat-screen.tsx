import type { SearchHit } from '@natter/protocol/core';
import { useCallback, useEffect, useLayoutEffect, useMemo, useState } from 'react';
import type { ChatSession } from '../chat-session.js';
import { jumpToMessage } from '../jump-to-message.js';
import { tabTitle } from '../tab-title.js';
import { useSession } from '../use-session.js';
import { Avatar } from './avatar.js';
import { ConnectionBanner } from './connection-banner.js';
import { ConversationList } from './conversation-list.js';
import { ConversationSwitcher } from './conversation-switcher.js';
import { ConversationView } from './conversation-view.js';
import { Icon } from './icons.js';
import { NewConversationDialog } from './new-conversation-dialog.js';
import { SearchPanel } from './search-panel.js';
import { SettingsDialog } from './settings-dialog.js';
import { ThreadPanel } from './thread-panel.js';

const MAX_WATCHED = 256;

/**
 * The signed-in app: the conversation list beside the open conversation (one at a time on phones),
 * and a thread opened from it beside that (over it on phones).
 */
export function ChatScreen({ session, onSignOut }: { session: ChatSession; onSignOut: () => void }) {
  const connection = useSession(session, (s) => s.connection);
  const transport = useSession(session, (s) => s.transport);
  // Your own name and photo in the sidebar header.
  useSession(session, (s) => s.peopleVersion);
  const [openId, setOpenId] = useState<string | null>(() => conversationInHash());
  const [creating, setCreating] = useState(false);
  const [switching, setSwitching] = useState(false);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [thread, setThread] = useState<{ conversationId: string; rootSeq: number } | null>(null);
  const [query, setQuery] = useState('');
  const conversations = useSession(session, (s) => s.state.conversations());
  const open = useSession(session, (s) => (openId ? s.state.conversation(openId) : undefined));
  const openThread = useCallback(
    (rootSeq: number) => setThread(openId ? { conversationId: openId, rootSeq } : null),
    [openId],
  );
  const closeConversation = useCallback(() => setOpenId(null), []);
  const threadOpen = open && thread?.conversationId === open.conversation_id ? thread : null;

  const title = tabTitle(conversations);
  useEffect(() => {
    document.title = title;
  }, [title]);
  useEffect(
    () => () => {
      document.title = 'Natter';
    },
    [],
  );

  // Ctrl+K (Cmd+K on a Mac) opens the conversation switcher from anywhere, the composer included.
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key.toLowerCase() !== 'k' || !(event.ctrlKey || event.metaKey) || event.altKey) return;
      event.preventDefault();
      setSwitching(true);
    };
    addEventListener('keydown', onKeyDown);
    return () => removeEventListener('keydown', onKeyDown);
  }, []);

  // Before paint, not after: a reload right after opening a conversation comes back to it.
  useLayoutEffect(() => {
    history.replaceState(null, '', openId ? `#c=${encodeURIComponent(openId)}` : location.pathname);
  }, [openId]);

  // Presence of everyone you have a 1:1 with, for the dots in the list and the header.
  // The server takes at most 256 per subscription: the most recently active ones.
  const peers = useMemo(
    () =>
      [...new Set(conversations.flatMap((c) => (c.kind === 'direct' && c.peer_id ? [c.peer_id] : [])))]
        .slice(0, MAX_WATCHED)
        .sort(),
    [conversations],
  );
  const peerKey = peers.join(',');
  useEffect(() => {
    if (peerKey) void session.client.watchPresence(peerKey.split(',')).catch(() => {});
  }, [session, peerKey]);

  // A result opens its conversation (and its thread, for a reply there) and shows the message in
  // context; the search stays, so the next result is one click away.
  const openHit = useCallback(
    (hit: SearchHit) => {
      setOpenId(hit.conversation_id);
      const root = hit.thread_root;
      setThread(root === undefined ? null : { conversationId: hit.conversation_id, rootSeq: root });
      void jumpToMessage(session.state, hit.conversation_id, root ?? hit.seq);
    },
    [session],
  );

  const me = session.account;
  return (
    <main className={`chat-screen${open ? ' has-open' : ''}${threadOpen ? ' has-thread' : ''}`}>
      <h1 className="sr-only">Natter</h1>
      <nav className="sidebar" aria-label="Conversations">
        <header className="sidebar-header">
          <button
            type="button"
            className="me"
            onClick={() => setSettingsOpen(true)}
            aria-label="Your profile and settings"
          >
            <Avatar name={session.profiles.nameOf(me.userId)} src={session.avatarUrlOf(me.userId)} />
            <span className="me-names">
              <strong>{session.profiles.nameOf(me.userId)}</strong>
              <span>@{me.username}</span>
            </span>
          </button>
          <button
            type="button"
            className="icon-button"
            onClick={() => setCreating(true)}
            aria-label="New conversation"
          >
            <svg viewBox="0 0 24 24" aria-hidden="true">
              <path d="M12 5v14M5 12h14" />
            </svg>
          </button>
          <button
            type="button"
            className="icon-button"
            onClick={() => setSettingsOpen(true)}
            aria-label="Settings"
          >
            <Icon name="settings" />
          </button>
        </header>
        <ConnectionBanner state={connection} transport={transport} />
        <search className="search-box">
          <Icon name="search" className="search-icon" />
          <input
            type="search"
            placeholder="Search messages"
            aria-label="Search messages"
            value={query}
            maxLength={200}
            onChange={(event) => setQuery(event.currentTarget.value)}
            onKeyDown={(event) => {
              if (event.key === 'Escape') setQuery('');
            }}
          />
          {query && (
            <button
              type="button"
              className="icon-button small"
              aria-label="Clear search"
              onClick={() => setQuery('')}
            >
              <Icon name="close" />
            </button>
          )}
        </search>
        {query.trim() ? (
          <SearchPanel session={session} query={query.trim()} openId={openId} onOpen={openHit} />
        ) : (
          <ConversationList
            session={session}
            conversations={conversations}
            selectedId={openId}
            onSelect={setOpenId}
          />
        )}
      </nav>
      <section className="main" aria-label={open ? undefined : 'No conversation open'}>
        {open ? (
          <ConversationView
            key={open.conversation_id}
            session={session}
            summary={open}
            onBack={closeConversation}
            onOpenThread={openThread}
          />
        ) : (
          <div className="empty-main">
            <img src="/icon.svg" alt="" width={56} height={56} />
            {conversations.length === 0 ? (
              <>
                <h2>Start your first conversation</h2>
                <p>Find someone by name or username, or create a group for a few people at once.</p>
                <button type="button" className="primary" onClick={() => setCreating(true)}>
                  Start a conversation
                </button>
              </>
            ) : (
              <>
                <h2>Pick a conversation</h2>
                <p>
                  Or start a new one with the + button. Press <kbd>Ctrl</kbd> <kbd>K</kbd> to jump to any
                  conversation.
                </p>
              </>
            )}
          </div>
        )}
        {open && threadOpen && (
          <ThreadPanel
            key={`${threadOpen.conversationId}-${threadOpen.rootSeq}`}
            session={session}
            summary={open}
            rootSeq={threadOpen.rootSeq}
            onClose={() => setThread(null)}
          />
        )}
      </section>
      {switching && (
        <ConversationSwitcher
          session={session}
          conversations={conversations}
          onClose={() => setSwitching(false)}
          onPick={(id) => {
            setSwitching(false);
            setThread(null);
            setOpenId(id);
            // The composer takes the focus when it mounts; reopening the open one keeps it, so ask.
            requestAnimationFrame(() => document.querySelector<HTMLElement>('.composer textarea')?.focus());
          }}
        />
      )}
      {settingsOpen && (
        <SettingsDialog session={session} onClose={() => setSettingsOpen(false)} onSignOut={onSignOut} />
      )}
      {creating && (
        <NewConversationDialog
          session={session}
          onClose={() => setCreating(false)}
          onOpened={(id) => {
            setCreating(false);
            setOpenId(id);
          }}
        />
      )}
    </main>
  );
}

function conversationInHash(): string | null {
  const match = /^#c=(.+)$/.exec(location.hash);
  try {
    return match ? decodeURIComponent(match[1]!) : null;
  } catch {
    return null; // a mangled link opens the list instead
  }
}
