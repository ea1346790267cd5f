import type { MessageView } from '@natter/client';
import { type ConversationSummary, DEFAULT_MAX_BODY_BYTES, utf8Length } from '@natter/protocol/core';
import {
  type FormEvent,
  type KeyboardEvent,
  useCallback,
  useId,
  useLayoutEffect,
  useRef,
  useState,
} from 'react';
import type { ChatSession } from '../chat-session.js';
import { loadDraft, saveDraft } from '../drafts.js';
import {
  filterCandidates,
  insertMention,
  type MentionCandidate,
  mentionQueryAt,
  mentionsInText,
} from '../mentions.js';
import { plainText } from '../message-markup.js';
import { UploadTray, useAttachmentUploads } from './attachment-uploads.js';
import { Avatar } from './avatar.js';
import { EmojiButton } from './emoji-picker.js';
import { Icon } from './icons.js';
import { useGrowWithContent } from './use-grow-with-content.js';

export interface Editing {
  seq: number;
  body: string;
}

interface Props {
  session: ChatSession;
  summary: ConversationSummary;
  editing: Editing | null;
  onDoneEditing: () => void;
  /** The message being answered: shown above the input and sent as `replyTo`. */
  replyingTo: MessageView | null;
  onCancelReply: () => void;
  /** In a thread's panel: the root's seq, sent as `threadRoot`. */
  threadRoot?: number;
  /** ↑ in the empty composer: start editing your last message here; false if there is none. */
  onEditLast?: () => boolean;
}

/**
 * Enter sends, Shift+Enter starts a new line, Escape cancels an edit or a reply, ↑ in the empty
 * composer edits your last message. Typing "@" offers
 * the conversation's people (arrows and Enter or Tab to pick, or the mouse); a picked mention is
 * inserted as "@handle " and sent in `mentions` if it is still in the text. Keystrokes signal typing.
 */
export function Composer({
  session,
  summary,
  editing,
  onDoneEditing,
  replyingTo,
  onCancelReply,
  threadRoot,
  onEditLast,
}: Props) {
  const conversationId = summary.conversation_id;
  const me = session.account.userId;
  // An edit starts from the message; a new message from the draft left here.
  const [text, setText] = useState(() => editing?.body ?? loadDraft(me, conversationId, threadRoot));
  const [error, setError] = useState<string | null>(null);
  const [query, setQuery] = useState<{ start: number; query: string } | null>(null);
  const [active, setActive] = useState(0);
  const [picked, setPicked] = useState<MentionCandidate[]>([]);
  const typer = session.typer(conversationId);
  const files = useAttachmentUploads(session);
  const filePicker = useRef<HTMLInputElement>(null);
  const input = useRef<HTMLTextAreaElement>(null);
  const listId = useId();
  const caretAfterInsert = useRef<number | null>(null);
  useGrowWithContent(input, text);
  const suggestions =
    query && !editing ? filterCandidates(mentionCandidates(session, summary), query.query) : [];
  const suggesting = suggestions.length > 0;
  const size = bodySize(session, text);
  const activeIndex = Math.min(active, suggestions.length - 1);

  // Opening a conversation, starting an edit or choosing "Reply" puts the cursor in the composer,
  // before paint: keys typed at once land in the field, and an edit's caret is placed before them.
  // biome-ignore lint/correctness/useExhaustiveDependencies: focus again whenever the message replied to changes
  useLayoutEffect(() => {
    const element = input.current;
    element?.focus();
    // An edit starts with the caret after the text, ready to change its end.
    if (editing) element?.setSelectionRange(element.value.length, element.value.length);
  }, [replyingTo]);

  async function submit(event?: FormEvent) {
    event?.preventDefault();
    const attachments = editing ? [] : files.ready;
    // A message of files alone is sent with their names as its text (every client can show that).
    const body = text.trim() || attachments.map((a) => a.name).join(', ');
    if (!body || size.over || (!editing && files.busy)) return;
    if (editing) {
      try {
        await session.edit(conversationId, editing.seq, body);
        onDoneEditing();
      } catch {
        setError('The edit could not be saved. Try again when you are online.');
      }
      return;
    }
    const mentions = mentionsInText(body, picked);
    session.send(conversationId, body, {
      ...(replyingTo?.seq != null && { replyTo: replyingTo.seq }),
      ...(threadRoot !== undefined && { threadRoot }),
      ...(mentions.length > 0 && { mentions }),
      ...(attachments.length > 0 && { attachments }),
    });
    files.clear();
    setText('');
    saveDraft(me, conversationId, '', threadRoot);
    setPicked([]);
    setQuery(null);
    if (replyingTo) onCancelReply();
  }

  /** Where the caret is decides whether an "@query" is being typed. */
  function followCaret(element: HTMLTextAreaElement) {
    const caret = element.selectionStart;
    const found = caret === element.selectionEnd ? mentionQueryAt(element.value, caret) : null;
    if (found?.start !== query?.start) setActive(0);
    setQuery(found);
  }

  function pick(candidate: MentionCandidate) {
    const element = input.current;
    if (!query || !element) return;
    const inserted = insertMention(text, query.start, element.selectionStart, candidate.handle);
    setText(inserted.text);
    saveDraft(me, conversationId, inserted.text, threadRoot);
    setPicked((before) => [...before, candidate]);
    setQuery(null);
    // Placed as the new text renders, not a frame later: keys typed meanwhile would land before it.
    caretAfterInsert.current = inserted.caret;
    element.focus();
  }

  /** An emoji from the picker goes in where the caret was (replacing a selection), the caret after it. */
  function insertAtCaret(piece: string) {
    const element = input.current;
    const start = element?.selectionStart ?? text.length;
    const end = element?.selectionEnd ?? text.length;
    const next = text.slice(0, start) + piece + text.slice(end);
    setText(next);
    if (!editing) saveDraft(me, conversationId, next, threadRoot);
    caretAfterInsert.current = start + piece.length;
  }
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs once the text with the insertion is rendered
  useLayoutEffect(() => {
    const caret = caretAfterInsert.current;
    if (caret === null) return;
    caretAfterInsert.current = null;
    input.current?.setSelectionRange(caret, caret);
  }, [text]);
  const focusField = useCallback(() => input.current?.focus(), []);

  function cancelEdit() {
    typer.stop();
    onDoneEditing();
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.nativeEvent.isComposing) return;
    if (event.key === 'ArrowUp' && !editing && text === '' && !event.shiftKey && onEditLast?.()) {
      event.preventDefault();
      return;
    }
    if (suggesting) {
      const step = event.key === 'ArrowDown' ? 1 : event.key === 'ArrowUp' ? -1 : 0;
      if (step !== 0) {
        event.preventDefault();
        setActive((activeIndex + step + suggestions.length) % suggestions.length);
        return;
      }
      if (event.key === 'Enter' || event.key === 'Tab') {
        event.preventDefault();
        pick(suggestions[activeIndex]!);
        return;
      }
      if (event.key === 'Escape') {
        event.preventDefault();
        setQuery(null);
        return;
      }
    }
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      void submit();
    } else if (event.key === 'Escape') {
      // Handled here: a thread panel around it closes on an Escape nobody handled.
      if (editing || replyingTo) event.preventDefault();
      if (editing) cancelEdit();
      else if (replyingTo) onCancelReply();
    }
  }

  return (
    <form
      className="composer"
      onSubmit={submit}
      onDragOver={(event) => {
        if (!editing && event.dataTransfer?.types.includes('Files')) event.preventDefault();
      }}
      onDrop={(event) => {
        if (editing || !event.dataTransfer?.files.length) return;
        event.preventDefault();
        files.add(event.dataTransfer.files);
      }}
    >
      {editing && (
        <div className="composer-context">
          <Icon name="edit" />
          <span className="composer-context-text">
            <span className="composer-context-title">
              Editing message<span className="desktop-only"> · Esc to cancel</span>
            </span>
          </span>
          <button type="button" className="link" onClick={cancelEdit}>
            Cancel
          </button>
        </div>
      )}
      {replyingTo && !editing && <ReplyBar session={session} message={replyingTo} onCancel={onCancelReply} />}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {size.over && (
        <p className="form-error composer-too-long" role="alert">
          Too long to send: shorten it by {(size.used - size.limit).toLocaleString('en')}, or split it into
          several messages.
        </p>
      )}
      {suggesting && (
        <div className="mention-list" role="listbox" id={listId} aria-label="People to mention">
          {suggestions.map((candidate, index) => (
            // biome-ignore lint/a11y/useKeyWithClickEvents: the keyboard picks from the textarea (arrows, Enter, Tab)
            <div
              key={candidate.id}
              id={`${listId}-${index}`}
              role="option"
              tabIndex={-1}
              aria-selected={index === activeIndex}
              className={`mention-option${index === activeIndex ? ' active' : ''}`}
              // Keep the focus (and the caret) in the textarea.
              onMouseDown={(event) => event.preventDefault()}
              onMouseEnter={() => setActive(index)}
              onClick={() => pick(candidate)}
            >
              <Avatar name={candidate.name} />
              <span className="mention-option-name">{candidate.name}</span>
              <span className="mention-option-handle">@{candidate.handle}</span>
            </div>
          ))}
        </div>
      )}
      {!editing && <UploadTray uploads={files.uploads} onCancel={files.cancel} />}
      <div className="composer-row">
        {!editing && (
          <>
            <button
              type="button"
              className="icon-button"
              aria-label="Attach files"
              title="Attach files (or drop or paste them here)"
              onClick={() => filePicker.current?.click()}
            >
              <Icon name="paperclip" />
            </button>
            <input
              ref={filePicker}
              type="file"
              multiple
              hidden
              aria-label="Files to attach"
              onChange={(event) => {
                if (event.currentTarget.files) files.add(event.currentTarget.files);
                event.currentTarget.value = '';
              }}
            />
          </>
        )}
        <EmojiButton onPick={insertAtCaret} onClosed={focusField} />
        <textarea
          aria-label={
            editing ? 'Edit your message' : threadRoot !== undefined ? 'Reply in thread' : 'Message'
          }
          placeholder={replyingTo || threadRoot !== undefined ? 'Write a reply' : 'Write a message'}
          rows={1}
          value={text}
          ref={input}
          aria-autocomplete="list"
          aria-controls={suggesting ? listId : undefined}
          aria-activedescendant={suggesting ? `${listId}-${activeIndex}` : undefined}
          onKeyDown={onKeyDown}
          onPaste={(event) => {
            const pasted = event.clipboardData?.files;
            if (editing || !pasted?.length) return;
            event.preventDefault();
            files.add(pasted);
          }}
          onSelect={(event) => followCaret(event.currentTarget)}
          onBlur={() => setQuery(null)}
          onChange={(event) => {
            setText(event.target.value);
            if (!editing) saveDraft(me, conversationId, event.target.value, threadRoot);
            followCaret(event.target);
            if (event.target.value.trim()) typer.keystroke();
            else typer.stop();
          }}
        />
        {size.near && (
          <span
            className={`composer-count${size.over ? ' over' : ''}`}
            title="Counted as the server counts: emoji and some letters count as 2 to 4"
          >
            {size.used.toLocaleString('en')} / {size.limit.toLocaleString('en')}
          </span>
        )}
        <button
          type="submit"
          className="send-button"
          aria-label={editing ? 'Save edit' : 'Send'}
          disabled={
            (!text.trim() && (editing !== null || files.ready.length === 0)) || size.over || files.busy
          }
        >
          <svg viewBox="0 0 24 24" aria-hidden="true">
            <path d="M4 12l16-8-6 16-2-7z" />
          </svg>
        </button>
      </div>
    </form>
  );
}

/** Within this share of the limit, the composer shows how much of it the message takes. */
const NEAR_LIMIT = 0.9;

/**
 * How much of the server's limit the message takes, counted as the server counts (UTF-8 bytes of
 * the text sent, which is trimmed): shown near the limit, and over it the message cannot be sent.
 */
function bodySize(session: ChatSession, text: string) {
  const limit = session.client.limits?.max_body_bytes ?? DEFAULT_MAX_BODY_BYTES;
  const used = utf8Length(text.trim());
  return { used, limit, near: used >= limit * NEAR_LIMIT, over: used > limit };
}

/** "Replying to Alice" and the start of her message, with a × to cancel. */
function ReplyBar({
  session,
  message,
  onCancel,
}: {
  session: ChatSession;
  message: MessageView;
  onCancel: () => void;
}) {
  const name =
    message.senderId === session.account.userId ? 'yourself' : session.profiles.nameOf(message.senderId);
  return (
    <div className="composer-context reply">
      <Icon name="reply" />
      <span className="composer-context-text">
        <span className="composer-context-title">
          Replying to <strong>{name}</strong>
        </span>
        <span className="composer-context-quote">{plainText(message.body ?? '')}</span>
      </span>
      <button type="button" className="icon-button small" aria-label="Cancel reply" onClick={onCancel}>
        <Icon name="close" />
      </button>
    </div>
  );
}

/**
 * Whom "@" offers: the other members of a group and `@all` / `@here` (unless the group reserves them
 * for admins and you are a plain member), or the other person of a 1:1.
 */
function mentionCandidates(session: ChatSession, summary: ConversationSummary): MentionCandidate[] {
  const me = session.account.userId;
  const person = (userId: string): MentionCandidate => ({
    id: userId,
    handle: session.handleOf(userId),
    name: session.profiles.nameOf(userId),
  });
  if (summary.kind === 'direct') {
    return summary.peer_id && summary.peer_id !== me ? [person(summary.peer_id)] : [];
  }
  const members = (session.state.membersOf(summary.conversation_id) ?? [])
    .filter((member) => member.userId !== me)
    .map((member) => person(member.userId))
    .sort((a, b) => a.name.localeCompare(b.name));
  if (summary.group_mentions === 'admins' && summary.role === 'member') return members;
  return [
    ...members,
    { id: '@all', handle: 'all', name: 'Everyone in the group' },
    { id: '@here', handle: 'here', name: 'Everyone here' },
  ];
}
