import type { FoundUser } from '@natter/protocol/core';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import type { ChatSession } from '../chat-session.js';
import { countOf } from '../format.js';
import { PeoplePicker } from './people-picker.js';

interface Props {
  session: ChatSession;
  onClose: () => void;
  onOpened: (conversationId: string) => void;
}

const FAILED = 'That did not work. Check your connection and try again.';

/**
 * Start a 1:1 by picking a person, or create a group or a channel with the people picked as chips
 * (a channel may be for announcements: only its admins post).
 */
export function NewConversationDialog({ session, onClose, onOpened }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [kind, setKind] = useState<'direct' | 'group' | 'channel'>('direct');
  const [adminsOnly, setAdminsOnly] = useState(false);
  const [title, setTitle] = useState('');
  const [members, setMembers] = useState<FoundUser[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // showModal focuses the first focusable (a tab): the search field is what you came for.
  useEffect(() => {
    dialog.current?.showModal();
    dialog.current?.querySelector<HTMLInputElement>('input')?.focus();
  }, []);

  async function startDirect(user: FoundUser) {
    setBusy(true);
    setError(null);
    try {
      onOpened((await session.http.direct({ userId: user.user_id })).conversation_id);
    } catch {
      setError(FAILED);
      setBusy(false);
    }
  }

  async function createGroup(event: FormEvent) {
    event.preventDefault();
    if (!title.trim()) {
      setError(`Give the ${kind} a name.`);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const ids = members.map((m) => m.user_id);
      const created =
        kind === 'channel'
          ? await session.http.createChannel(title.trim(), ids, adminsOnly ? 'admins' : 'everyone')
          : await session.http.createGroup(title.trim(), ids);
      onOpened(created.conversation_id);
    } catch {
      setError(FAILED);
      setBusy(false);
    }
  }

  return (
    <dialog ref={dialog} className="dialog new-conversation" aria-labelledby="new-title" onClose={onClose}>
      <form onSubmit={createGroup}>
        <h2 id="new-title">New conversation</h2>
        <div className="segmented" role="tablist" aria-label="Kind of conversation">
          <button
            type="button"
            role="tab"
            aria-selected={kind === 'direct'}
            onClick={() => {
              setKind('direct');
              setError(null);
            }}
          >
            Direct message
          </button>
          <button
            type="button"
            role="tab"
            aria-selected={kind === 'group'}
            onClick={() => {
              setKind('group');
              setError(null);
            }}
          >
            Group
          </button>
          <button
            type="button"
            role="tab"
            aria-selected={kind === 'channel'}
            onClick={() => {
              setKind('channel');
              setError(null);
            }}
          >
            Channel
          </button>
        </div>
        {kind === 'direct' ? (
          <PeoplePicker
            key="direct"
            session={session}
            label="Who do you want to talk to?"
            autoFocus
            onPick={(user) => void startDirect(user)}
          />
        ) : (
          <>
            <label>
              {kind === 'channel' ? 'Channel name' : 'Group name'}
              <input autoFocus maxLength={128} value={title} onChange={(e) => setTitle(e.target.value)} />
            </label>
            {kind === 'channel' && (
              <label className="checkbox">
                <input
                  type="checkbox"
                  checked={adminsOnly}
                  onChange={(e) => setAdminsOnly(e.target.checked)}
                />
                Only admins can post (announcements)
              </label>
            )}
            <PeoplePicker
              key="group"
              session={session}
              label="Members"
              chosen={members}
              onPick={(user) => setMembers((before) => [...before, user])}
              onRemove={(user) => setMembers((before) => before.filter((m) => m.user_id !== user.user_id))}
            />
          </>
        )}
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" className="ghost" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
          {kind !== 'direct' && (
            <button type="submit" className="primary" disabled={busy}>
              {members.length > 0
                ? `Create ${kind} with ${countOf(members.length, 'person', 'people')}`
                : `Create ${kind}`}
            </button>
          )}
        </div>
      </form>
    </dialog>
  );
}
