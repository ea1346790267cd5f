import type { ConversationSummary } from '@natter/protocol/core';
import { type KeyboardEvent, useEffect, useId, useMemo, useRef, useState } from 'react';
import type { ChatSession } from '../chat-session.js';
import { Avatar } from './avatar.js';

const SHOWN = 12;

interface Props {
  session: ChatSession;
  /** In the list's order: most recent activity first. */
  conversations: ConversationSummary[];
  onPick: (conversationId: string) => void;
  onClose: () => void;
}

/**
 * Ctrl/Cmd+K: a field that filters conversations by name as you type; ↑/↓ choose, Enter opens,
 * Escape closes. The field is a combobox over a listbox (the ARIA pattern screen readers know).
 */
export function ConversationSwitcher({ session, conversations, onPick, onClose }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  const listId = useId();
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const matches = useMemo(() => {
    const needle = query.trim().toLocaleLowerCase();
    return conversations
      .filter((c) => session.titleOf(c).toLocaleLowerCase().includes(needle))
      .slice(0, SHOWN);
  }, [session, conversations, query]);
  const chosen = matches[Math.min(active, matches.length - 1)];

  useEffect(() => {
    dialog.current?.showModal();
  }, []);

  function onKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const step = event.key === 'ArrowDown' ? 1 : -1;
      setActive((at) => (Math.min(at, matches.length - 1) + step + matches.length) % matches.length);
    } else if (event.key === 'Enter' && chosen) {
      event.preventDefault();
      onPick(chosen.conversation_id);
    }
  }

  return (
    <dialog ref={dialog} className="dialog switcher" aria-label="Go to conversation" onClose={onClose}>
      <input
        type="text"
        role="combobox"
        aria-label="Conversation name"
        aria-expanded="true"
        aria-controls={listId}
        aria-activedescendant={chosen ? `${listId}-${chosen.conversation_id}` : undefined}
        placeholder="Go to conversation…"
        autoComplete="off"
        value={query}
        onChange={(event) => {
          setQuery(event.currentTarget.value);
          setActive(0);
        }}
        onKeyDown={onKeyDown}
      />
      <div id={listId} role="listbox" aria-label="Conversations" className="switcher-list">
        {matches.map((summary) => {
          const title = session.titleOf(summary);
          const selected = summary === chosen;
          return (
            // biome-ignore lint/a11y/useKeyWithClickEvents: the combobox field handles the keys for its options
            <div
              key={summary.conversation_id}
              id={`${listId}-${summary.conversation_id}`}
              role="option"
              tabIndex={-1}
              aria-selected={selected}
              className={selected ? 'active' : undefined}
              onClick={() => onPick(summary.conversation_id)}
            >
              <Avatar name={title} />
              <span className="switcher-title">{title}</span>
              {summary.unread > 0 && (
                <span className="badge">
                  {summary.unread > 99 ? '99+' : summary.unread}
                  <span className="sr-only"> unread</span>
                </span>
              )}
            </div>
          );
        })}
      </div>
      {matches.length === 0 && <p className="switcher-none">No conversation matches.</p>}
      <p className="switcher-hint" aria-hidden="true">
        ↑↓ to choose · Enter to open · Esc to close
      </p>
    </dialog>
  );
}
