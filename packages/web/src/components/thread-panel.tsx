import type { MessageView } from '@natter/client';
import type { ConversationSummary } from '@natter/protocol/core';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { ChatSession } from '../chat-session.js';
import { countOf } from '../format.js';
import { lastEditable, type MessageHandlers, takeBackRefused } from '../message-actions.js';
import { keyOf } from '../timeline-rows.js';
import { useSession } from '../use-session.js';
import { Composer, type Editing } from './composer.js';
import { useConfirm } from './confirm-dialog.js';
import { useToast } from './conversation-view.js';
import { Icon } from './icons.js';
import { MessageBubble } from './message-bubble.js';
import { useEscape } from './use-escape.js';

interface Props {
  session: ChatSession;
  summary: ConversationSummary;
  /** The seq of the message the thread hangs under. */
  rootSeq: number;
  onClose: () => void;
}

const NEAR_EDGE_PX = 80;

/**
 * A thread beside its conversation (over it, full screen, on phones): the message it started from
 * (or its tombstone), its replies with older ones loaded on scrolling up, and a composer that
 * answers in the thread. While it is on screen its replies count as read, on every device.
 * Escape, the close button or (on phones) the back button closes it.
 */
export function ThreadPanel({ session, summary, rootSeq, onClose }: Props) {
  useSession(session, (s) => `${s.state.versionOf(summary.conversation_id)}:${s.peopleVersion}`);
  const id = summary.conversation_id;
  const me = session.account.userId;
  const root = session.state.message(id, rootSeq);
  const thread = session.state.thread(id, rootSeq);
  const replies = session.state.threadReplies(id, rootSeq);
  const member = summary.left_seq === null;
  const [editing, setEditing] = useState<Editing | null>(null);
  /** Moves when a refused reply's text is put back in the composer, which then starts anew from the draft. */
  const [restored, setRestored] = useState(0);
  const [replyingTo, setReplyingTo] = useState<MessageView | null>(null);
  const [toast, notify] = useToast();
  const [confirmDialog, confirm] = useConfirm();
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
    [notify, confirm, session, member],
  );
  /** ↑ in the empty composer: your newest reply here that can still be edited. */
  function editLast(list: MessageView[]): boolean {
    const last = lastEditable(list, me);
    if (last) handlers.edit(last);
    return last !== undefined;
  }
  const scroller = useOlderReplies(session, id, rootSeq, replies);

  // Escape closes it, unless something inside (a menu, the composer's reply) took the key first.
  useEscape(onClose);

  // Reading: replies on screen while the tab is visible count as read, on every device.
  const replyCount = thread?.reply_count ?? 0;
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new reply (replyCount) is read too
  useEffect(() => {
    if (!member) return;
    const read = () => {
      if (document.visibilityState === 'visible') session.state.markThreadRead(id, rootSeq);
    };
    read();
    document.addEventListener('visibilitychange', read);
    return () => document.removeEventListener('visibilitychange', read);
  }, [session, id, rootSeq, member, replyCount]);

  const group = summary.kind !== 'direct';
  return (
    <section className="thread-panel" aria-label="Thread">
      <header className="thread-header">
        <button
          type="button"
          className="icon-button thread-back"
          onClick={onClose}
          aria-label="Back to the conversation"
        >
          <svg viewBox="0 0 24 24" aria-hidden="true">
            <path d="M15 5l-7 7 7 7" />
          </svg>
        </button>
        <div className="thread-heading">
          <h2>Thread</h2>
          <p className="thread-where">{session.titleOf(summary)}</p>
        </div>
        <button
          type="button"
          className="icon-button thread-close"
          onClick={onClose}
          aria-label="Close thread"
        >
          <Icon name="close" />
        </button>
      </header>
      <div
        ref={scroller.ref}
        className="thread-messages"
        role="log"
        aria-label="Thread messages"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard to scroll it
        tabIndex={0}
        onScroll={scroller.onScroll}
      >
        <div className="thread-row thread-root">
          {root ? (
            <MessageBubble
              session={session}
              summary={summary}
              message={root}
              showSender={group && root.senderId !== me}
              highlighted={false}
              editing={editing?.seq === root.seq}
              handlers={handlers}
            />
          ) : (
            <p className="notice">The message this thread started from is not loaded.</p>
          )}
        </div>
        {replyCount > 0 && (
          <div className="thread-divider">
            <span>{countOf(replyCount, 'reply', 'replies')}</span>
          </div>
        )}
        {scroller.hasOlder && (
          <button type="button" className="link thread-earlier" onClick={scroller.loadOlder}>
            Show earlier replies
          </button>
        )}
        {replies.map((reply, index) => (
          <div key={keyOf(reply)} className="thread-row">
            <MessageBubble
              session={session}
              summary={summary}
              message={reply}
              showSender={group && reply.senderId !== me && replies[index - 1]?.senderId !== reply.senderId}
              highlighted={false}
              editing={editing !== null && editing.seq === reply.seq}
              handlers={handlers}
            />
          </div>
        ))}
      </div>
      {!member ? (
        <p className="composer-closed">You are no longer a member of this conversation.</p>
      ) : root?.deleted ? (
        <p className="composer-closed">The first message was deleted: the thread takes no new replies.</p>
      ) : (
        <Composer
          key={editing ? `edit-${editing.seq}` : `new-${restored}`}
          session={session}
          summary={summary}
          editing={editing}
          onDoneEditing={() => setEditing(null)}
          replyingTo={replyingTo}
          onCancelReply={() => setReplyingTo(null)}
          threadRoot={rootSeq}
          onEditLast={() => editLast(replies)}
        />
      )}
      {confirmDialog}
      {toast !== null && (
        <div className="toast" role="status">
          {toast}
        </div>
      )}
    </section>
  );
}

/**
 * The thread's scrolling: it opens at the newest reply and follows new ones while you are at the
 * bottom (and always after you send); near the top it loads the page of replies before the oldest
 * held, keeping what you were looking at in place.
 */
function useOlderReplies(session: ChatSession, id: string, rootSeq: number, replies: MessageView[]) {
  const ref = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const loading = useRef(false);
  const anchor = useRef<{ firstKey: string | undefined; fromBottom: number } | null>(null);
  const [reachedStart, setReachedStart] = useState(false);
  const thread = session.state.thread(id, rootSeq);
  const oldestHeld = replies.find((reply) => reply.threadSeq !== null)?.threadSeq ?? null;
  // Thread seqs are gap-free: replies are missing before the oldest held, or all of them if none is.
  const hasOlder =
    !reachedStart && thread !== null && (oldestHeld === null ? thread.reply_count > 0 : oldestHeld > 1);
  const firstKey = replies[0] && keyOf(replies[0]);
  const last = replies.at(-1);
  const lastKey = last && keyOf(last);

  const loadOlder = useCallback(async () => {
    if (loading.current || !hasOlder) return;
    loading.current = true;
    const element = ref.current;
    anchor.current = element ? { firstKey, fromBottom: element.scrollHeight - element.scrollTop } : null;
    try {
      if (!(await session.state.loadThread(id, rootSeq))) setReachedStart(true);
    } catch {
      anchor.current = null; // offline: scrolling up again, or coming back online, tries again
    } finally {
      loading.current = false;
    }
  }, [session, id, rootSeq, hasOlder, firstKey]);

  // Opening the thread (or coming back online with it open) loads its newest page unless it is held.
  const live = session.connection === 'live';
  // biome-ignore lint/correctness/useExhaustiveDependencies: once per thread and connection, not on every change
  useEffect(() => {
    if (live) void loadOlder();
  }, [id, rootSeq, live]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when the first or last reply changes
  useLayoutEffect(() => {
    const element = ref.current;
    if (!element) return;
    const kept = anchor.current;
    if (kept && kept.firstKey !== firstKey) {
      element.scrollTop = element.scrollHeight - kept.fromBottom;
      anchor.current = null;
    } else if (atBottom.current || (last?.seq === null && last.senderId === session.account.userId)) {
      element.scrollTop = element.scrollHeight;
    }
  }, [firstKey, lastKey]);

  return {
    ref,
    hasOlder,
    loadOlder,
    onScroll(event: { currentTarget: HTMLDivElement }) {
      const element = event.currentTarget;
      atBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < NEAR_EDGE_PX;
      if (element.scrollTop < NEAR_EDGE_PX) void loadOlder();
    },
  };
}
