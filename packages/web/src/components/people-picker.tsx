import type { FoundUser } from '@natter/protocol/core';
import { MIN_USER_SEARCH_CHARS, NatterError } from '@natter/protocol/core';
import { type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import type { ChatSession } from '../chat-session.js';
import { Avatar } from './avatar.js';
import { BotBadge } from './bot-badge.js';
import { Icon } from './icons.js';

/** Wait after the last keystroke before searching: one request per pause, not per key. */
const DEBOUNCE_MS = 250;

interface Props {
  session: ChatSession;
  label: string;
  /** People already chosen: shown as chips before the input (a group), and left out of results. */
  chosen?: FoundUser[];
  onPick: (user: FoundUser) => void;
  /** Backspace in the empty input, or a chip's ×: takes a chosen person out. */
  onRemove?: (user: FoundUser) => void;
  autoFocus?: boolean;
}

type Results =
  | { state: 'idle' }
  | { state: 'searching'; query: string }
  | { state: 'found'; query: string; users: FoundUser[] }
  | { state: 'failed'; message: string };

/**
 * Search people as you type (GET /v1/users/search, debounced) and pick one with the mouse or with
 * ↑/↓ and Enter. A combobox: the input owns the listbox of results and names the active one.
 */
export function PeoplePicker({ session, label, chosen = [], onPick, onRemove, autoFocus }: Props) {
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<Results>({ state: 'idle' });
  const [active, setActive] = useState(0);
  const listId = useId();
  const hintId = useId();
  const inputId = useId();
  const trimmed = query.trim();
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (autoFocus) input.current?.focus();
  }, [autoFocus]);

  useEffect(() => {
    if (trimmed.length < MIN_USER_SEARCH_CHARS) {
      setResults({ state: 'idle' });
      return;
    }
    let current = true;
    setResults((before) => (before.state === 'found' ? before : { state: 'searching', query: trimmed }));
    const timer = setTimeout(() => {
      session.http.searchUsers(trimmed).then(
        (users) => {
          if (!current) return;
          for (const user of users) session.profiles.remember(user);
          setResults({ state: 'found', query: trimmed, users });
          setActive(0);
        },
        (thrown: unknown) => {
          if (current) setResults({ state: 'failed', message: searchError(thrown) });
        },
      );
    }, DEBOUNCE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [session, trimmed]);

  const chosenIds = new Set(chosen.map((u) => u.user_id));
  const users = results.state === 'found' ? results.users.filter((u) => !chosenIds.has(u.user_id)) : [];
  const open = users.length > 0;
  const activeIndex = Math.min(active, users.length - 1);

  function pick(user: FoundUser) {
    onPick(user);
    setQuery('');
    setResults({ state: 'idle' });
  }

  function onKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === 'ArrowDown' && open) {
      event.preventDefault();
      setActive((activeIndex + 1) % users.length);
    } else if (event.key === 'ArrowUp' && open) {
      event.preventDefault();
      setActive((activeIndex - 1 + users.length) % users.length);
    } else if (event.key === 'Enter' && open) {
      event.preventDefault();
      pick(users[activeIndex]!);
    } else if (event.key === 'Enter' && trimmed) {
      // Not yet a pick: Enter must not submit the form around the picker with a half-typed name.
      event.preventDefault();
    } else if (event.key === 'Backspace' && query === '' && chosen.length > 0) {
      onRemove?.(chosen[chosen.length - 1]!);
    }
  }

  const hint =
    results.state === 'failed'
      ? results.message
      : results.state === 'found' && users.length === 0
        ? `No one matches “${results.query}”.`
        : trimmed.length > 0 && trimmed.length < MIN_USER_SEARCH_CHARS
          ? `Type at least ${MIN_USER_SEARCH_CHARS} characters.`
          : null;

  return (
    <div className="people-picker">
      <label className="people-label" htmlFor={inputId}>
        {label}
      </label>
      <div className="people-input">
        {chosen.map((user) => (
          <span className="chip" key={user.user_id}>
            <Avatar name={nameOf(user)} src={session.avatarUrlOf(user.user_id)} />
            <span className="chip-name">{nameOf(user)}</span>
            <button
              type="button"
              className="chip-remove"
              aria-label={`Remove ${nameOf(user)}`}
              onClick={() => onRemove?.(user)}
            >
              <Icon name="close" />
            </button>
          </span>
        ))}
        <input
          id={inputId}
          role="combobox"
          aria-expanded={open}
          aria-controls={listId}
          aria-autocomplete="list"
          aria-describedby={hint ? hintId : undefined}
          aria-activedescendant={open ? `${listId}-${activeIndex}` : undefined}
          placeholder={chosen.length > 0 ? 'Add more people' : 'Name or username'}
          autoComplete="off"
          spellCheck={false}
          ref={input}
          maxLength={64}
          value={query}
          onChange={(event) => setQuery(event.currentTarget.value)}
          onKeyDown={onKeyDown}
        />
      </div>
      {hint && (
        <p id={hintId} className={results.state === 'failed' ? 'form-error' : 'people-hint'} role="status">
          {hint}
        </p>
      )}
      <div id={listId} role="listbox" aria-label="People found" className="people-results" hidden={!open}>
        {users.map((user, index) => (
          // biome-ignore lint/a11y/useKeyWithClickEvents: the combobox input handles the keys (↑/↓/Enter)
          <div
            key={user.user_id}
            id={`${listId}-${index}`}
            role="option"
            tabIndex={-1}
            aria-selected={index === activeIndex}
            className="person"
            onMouseEnter={() => setActive(index)}
            onMouseDown={(event) => event.preventDefault()}
            onClick={() => pick(user)}
          >
            <Avatar name={nameOf(user)} src={session.avatarUrlOf(user.user_id)} />
            <span className="person-names">
              <span className="person-name">
                {nameOf(user)}
                {user.bot && <BotBadge />}
              </span>
              {user.username && <span className="person-handle">@{user.username}</span>}
            </span>
            {user.contact && <span className="person-contact">In your chats</span>}
          </div>
        ))}
      </div>
    </div>
  );
}

export function nameOf(user: FoundUser): string {
  return user.display_name ?? user.username ?? user.user_id;
}

function searchError(thrown: unknown): string {
  if (thrown instanceof NatterError && thrown.code === 'rate_limited')
    return 'Searching too fast. Wait a moment and type again.';
  return 'Search is not available right now. Check your connection.';
}
