import { NatterError } from '@natter/protocol/core';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import type { ChatSession } from '../chat-session.js';

interface Props {
  session: ChatSession;
  onClose: () => void;
  onOpened: (conversationId: string) => void;
}

/** Start a 1:1 by username, or create a group with the usernames given. */
export function NewConversationDialog({ session, onClose, onOpened }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [kind, setKind] = useState<'direct' | 'group'>('direct');
  const [username, setUsername] = useState('');
  const [title, setTitle] = useState('');
  const [members, setMembers] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    dialog.current?.showModal();
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (kind === 'direct') {
        const conversation = await session.http.direct({ username: username.trim() });
        onOpened(conversation.conversation_id);
        return;
      }
      const names = [...new Set(members.split(/[\s,]+/).filter(Boolean))];
      const ids: string[] = [];
      for (const name of names) {
        const profile = await session.profiles.byUsername(name);
        if (!profile) throw new NatterError('user_not_found', `No user called ${name}.`);
        ids.push(profile.user_id);
      }
      const conversation = await session.http.createGroup(title.trim(), ids);
      onOpened(conversation.conversation_id);
    } catch (thrown) {
      setError(
        thrown instanceof NatterError && thrown.code === 'user_not_found'
          ? thrown.message === 'No such user.'
            ? 'No user with that username.'
            : thrown.message
          : 'That did not work. Check your connection and try again.',
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <dialog ref={dialog} className="dialog" aria-labelledby="new-title" onClose={onClose}>
      <form onSubmit={submit}>
        <h2 id="new-title">New conversation</h2>
        <div className="segmented" role="tablist" aria-label="Kind of conversation">
          <button
            type="button"
            role="tab"
            aria-selected={kind === 'direct'}
            onClick={() => setKind('direct')}
          >
            Direct message
          </button>
          <button type="button" role="tab" aria-selected={kind === 'group'} onClick={() => setKind('group')}>
            Group
          </button>
        </div>
        {kind === 'direct' ? (
          <label>
            Username
            <input required autoFocus value={username} onChange={(e) => setUsername(e.target.value)} />
          </label>
        ) : (
          <>
            <label>
              Group name
              <input
                required
                autoFocus
                maxLength={128}
                value={title}
                onChange={(e) => setTitle(e.target.value)}
              />
            </label>
            <label>
              Members (usernames, separated by commas)
              <input value={members} onChange={(e) => setMembers(e.target.value)} />
            </label>
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
          <button type="submit" className="primary" disabled={busy}>
            {kind === 'direct' ? 'Start chat' : 'Create group'}
          </button>
        </div>
      </form>
    </dialog>
  );
}
