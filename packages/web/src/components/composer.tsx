import { type FormEvent, type KeyboardEvent, useEffect, useRef, useState } from 'react';
import type { ChatSession } from '../chat-session.js';

export interface Editing {
  seq: number;
  body: string;
}

interface Props {
  session: ChatSession;
  conversationId: string;
  editing: Editing | null;
  onDoneEditing: () => void;
}

/** Enter sends, Shift+Enter starts a new line, Escape cancels an edit. Keystrokes signal typing. */
export function Composer({ session, conversationId, editing, onDoneEditing }: Props) {
  const [text, setText] = useState(editing?.body ?? '');
  const [error, setError] = useState<string | null>(null);
  const typer = session.typer(conversationId);
  const input = useRef<HTMLTextAreaElement>(null);

  // Opening a conversation (or starting an edit) puts the cursor in the composer.
  useEffect(() => input.current?.focus(), []);

  async function submit(event?: FormEvent) {
    event?.preventDefault();
    const body = text.trim();
    if (!body) return;
    if (editing) {
      try {
        await session.client.edit(conversationId, editing.seq, body);
        onDoneEditing();
      } catch {
        setError('The edit could not be saved. Try again when you are online.');
      }
      return;
    }
    session.send(conversationId, body);
    setText('');
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void submit();
    } else if (event.key === 'Escape' && editing) {
      onDoneEditing();
    }
  }

  return (
    <form className="composer" onSubmit={submit}>
      {editing && (
        <div className="composer-editing">
          <span>Editing message</span>
          <button type="button" className="link" onClick={onDoneEditing}>
            Cancel
          </button>
        </div>
      )}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <div className="composer-row">
        <textarea
          aria-label={editing ? 'Edit your message' : 'Message'}
          placeholder="Write a message"
          rows={1}
          value={text}
          ref={input}
          onKeyDown={onKeyDown}
          onChange={(event) => {
            setText(event.target.value);
            if (event.target.value.trim()) typer.keystroke();
            else typer.stop();
          }}
        />
        <button
          type="submit"
          className="send-button"
          aria-label={editing ? 'Save edit' : 'Send'}
          disabled={!text.trim()}
        >
          <svg viewBox="0 0 24 24" aria-hidden="true">
            <path d="M4 12l16-8-6 16-2-7z" />
          </svg>
        </button>
      </div>
    </form>
  );
}
