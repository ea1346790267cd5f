import type { MemberReceipt, MessageStatus, MessageView } from '@natter/client';
import { type ConversationSummary, GROUP_MENTIONS, type ReplyQuote } from '@natter/protocol/core';
import { type MouseEvent, type PointerEvent, useMemo, useRef, useState } from 'react';
import type { ChatSession } from '../chat-session.js';
import { formatTime } from '../format.js';
import { jumpToMessage } from '../jump-to-message.js';
import { highlightMentions, type MentionHandle } from '../mentions.js';
import { canReact, type MessageHandlers, toggleReaction } from '../message-actions.js';
import { parseMessage, plainText } from '../message-markup.js';
import { Avatar } from './avatar.js';
import { BotBadge } from './bot-badge.js';
import { FailedSend } from './failed-send.js';
import { Icon } from './icons.js';
import { MessageAttachments } from './message-attachments.js';
import { MessageInfo } from './message-info.js';
import { EmojiPicker, MessageMenu, MessageToolbar, type OpenPanel } from './message-menu.js';
import { MessageText } from './message-text.js';
import { isPhoneLayout } from './popover.js';
import { ReactionBar } from './reaction-bar.js';
import { ThreadSummaryChip } from './thread-summary-chip.js';

interface Props {
  session: ChatSession;
  summary: ConversationSummary;
  message: MessageView;
  showSender: boolean;
  /**
   * The last of a run of one sender's messages (timeline-rows.ts): it shows the time (the others
   * show it in their toolbar on hover), the bubble's tail and, in a group, the sender's avatar.
   */
  runEnd?: boolean;
  /** The first of its run (a run of one is both first and last). */
  runStart?: boolean;
  /** Just jumped to: shown highlighted for a moment. */
  highlighted: boolean;
  /** Being edited in the composer. */
  editing?: boolean;
  handlers: MessageHandlers;
}

const STATUS_LABELS: Record<MessageStatus, string> = {
  sending: 'Sending',
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
  failed: 'Not sent',
};

const LONG_PRESS_MS = 500;
/** A finger that moves further than this is scrolling, not pressing. */
const LONG_PRESS_SLOP_PX = 10;

/**
 * One message: the quote it replies to, its formatted text (mentions as pills) or "deleted", time,
 * "edited", a pin, ticks on your own, its reactions, and its actions (a toolbar on hover or focus,
 * a long-press sheet on phones).
 */
export function MessageBubble({
  session,
  summary,
  message,
  showSender,
  runEnd = true,
  runStart = true,
  highlighted,
  editing = false,
  handlers: shared,
}: Props) {
  const me = session.account.userId;
  const mine = message.senderId === me;
  const [panel, setPanel] = useState<OpenPanel>(null);
  const bubble = useRef<HTMLDivElement>(null);
  const handlers = useMemo<MessageHandlers>(
    () => ({ ...shared, showInfo: () => setPanel({ kind: 'info', anchor: bubble.current }) }),
    [shared],
  );
  const withAvatar = summary.kind !== 'direct' && !mine;
  const sentAt = (
    <time dateTime={new Date(message.createdAt).toISOString()}>{formatTime(message.createdAt)}</time>
  );
  const receipts =
    mine && summary.kind === 'group' && message.seq !== null
      ? session.state.receiptsOf(summary.conversation_id, message.seq)
      : undefined;
  const handles = mentionHandles(session, message);
  const handleKey = handles.map((h) => `${h.handle}:${h.me}`).join(' ');
  // biome-ignore lint/correctness/useExhaustiveDependencies: handleKey stands for handles
  const markup = useMemo(() => {
    if (message.deleted) return null;
    const parsed = parseMessage(message.body ?? '');
    return parsed.emojiOnly ? parsed : { ...parsed, blocks: highlightMentions(parsed.blocks, handles) };
  }, [message.deleted, message.body, handleKey]);
  const longPress = useLongPress(() => setPanel({ kind: 'menu', anchor: bubble.current }));
  const reactable = canReact(summary, message);

  const classes = [
    'message',
    mine ? 'mine' : 'theirs',
    message.deleted && 'deleted',
    markup?.emojiOnly && 'emoji-only',
    message.mentionsMe && !message.deleted && 'mentions-me',
    highlighted && 'highlighted',
    editing && 'editing',
    panel && 'panel-open',
    runStart && 'run-start',
    runEnd && 'run-end',
    withAvatar && 'with-avatar',
  ];
  return (
    <div
      className={classes.filter(Boolean).join(' ')}
      data-seq={message.seq ?? undefined}
      data-status={mine ? message.status : undefined}
    >
      <div className="message-main">
        {withAvatar && (
          <span className="message-avatar">
            {runEnd && <Avatar name={session.profiles.nameOf(message.senderId)} />}
          </span>
        )}
        {/* Focusable, so Tab (or a tap) on a message reveals its actions. */}
        {/* biome-ignore lint/a11y/noNoninteractiveTabindex: focus is how a keyboard or a tap reaches the message's toolbar */}
        <div className="bubble" tabIndex={0} ref={bubble} {...longPress}>
          {showSender && (
            <span className="sender">
              {session.profiles.nameOf(message.senderId)}
              {session.profiles.isBot(message.senderId) && <BotBadge />}
            </span>
          )}
          {message.replyTo && !message.deleted && (
            <QuoteButton session={session} message={message} quote={message.replyTo} handlers={handlers} />
          )}
          {!message.deleted && <MessageAttachments session={session} message={message} />}
          {/* A div: a code block (<pre>) may be inside. */}
          <div className="bubble-text">
            {markup ? <MessageText blocks={markup.blocks} /> : 'This message was deleted'}
          </div>
          <span className="meta">
            {message.pinned && !message.deleted && (
              <span className="pin-marker" role="img" aria-label="Pinned" title="Pinned">
                <Icon name="pin" />
              </span>
            )}
            {message.edited && !message.deleted && <span className="edited">edited</span>}
            {runEnd && sentAt}
            {mine && <Ticks status={message.status} detail={receipts && receiptDetail(session, receipts)} />}
          </span>
        </div>
        {!message.deleted && (
          <MessageToolbar
            session={session}
            summary={summary}
            message={message}
            handlers={handlers}
            onOpen={setPanel}
            time={runEnd ? undefined : sentAt}
          />
        )}
      </div>
      {mine && message.status === 'failed' && (
        <FailedSend session={session} message={message} handlers={handlers} />
      )}
      {message.reactions.length > 0 && !message.deleted && (
        <ReactionBar
          reactions={message.reactions}
          onToggle={reactable ? (emoji) => toggleReaction(session, message, emoji, handlers) : undefined}
        />
      )}
      {message.thread && message.thread.reply_count > 0 && handlers.openThread && (
        <ThreadSummaryChip
          session={session}
          thread={message.thread}
          onOpen={() => handlers.openThread?.(message)}
        />
      )}
      {panel?.kind === 'menu' && (
        <MessageMenu
          session={session}
          summary={summary}
          message={message}
          handlers={handlers}
          anchor={panel.anchor}
          onClose={() => setPanel(null)}
        />
      )}
      {panel?.kind === 'info' && message.seq !== null && (
        <MessageInfo
          session={session}
          message={{ ...message, seq: message.seq }}
          anchor={panel.anchor}
          onClose={() => setPanel(null)}
        />
      )}
      {panel?.kind === 'emoji' && (
        <EmojiPicker
          anchor={panel.anchor}
          chosen={new Set(message.reactions.filter((r) => r.me).map((r) => r.emoji))}
          onPick={(emoji) => toggleReaction(session, message, emoji, handlers)}
          onClose={() => setPanel(null)}
        />
      )}
    </div>
  );
}

/** The message a reply answers: who wrote it and what it said (or that it is gone); a click shows it. */
function QuoteButton({
  session,
  message,
  quote,
  handlers,
}: {
  session: ChatSession;
  message: MessageView;
  quote: ReplyQuote;
  handlers: MessageHandlers;
}) {
  // A reply still sending quotes what is held of its parent, which may be nothing yet (no sender).
  const name =
    quote.sender_id === session.account.userId
      ? 'You'
      : quote.sender_id
        ? session.profiles.nameOf(quote.sender_id)
        : 'Message';
  const gone = quote.deleted || quote.body === null;
  const text = quote.hidden
    ? 'A message from before you joined'
    : gone
      ? 'Deleted message'
      : plainText(quote.body ?? '');
  return (
    <button
      type="button"
      className={`reply-quote${gone ? ' gone' : ''}`}
      aria-label={`Replying to ${name}: ${text}. Show the message.`}
      title="Show the message"
      onClick={() =>
        void jumpToMessage(session.state, message.conversationId, quote.seq).then((shown) => {
          if (!shown) handlers.notify('That message cannot be shown.');
        })
      }
    >
      <span className="reply-sender">{name}</span>
      <span className="reply-text">{text}</span>
    </button>
  );
}

/** The `@handle`s of the users (and `@all` / `@here`) a message mentions, the reader's own marked. */
function mentionHandles(session: ChatSession, message: MessageView): MentionHandle[] {
  const me = session.account.userId;
  const everyone: readonly string[] = GROUP_MENTIONS;
  return message.mentions.map((id) =>
    everyone.includes(id)
      ? { handle: id.slice(1), me: message.senderId !== me }
      : { handle: session.handleOf(id), me: id === me },
  );
}

/**
 * Press and hold (a finger, or anything on a phone-sized screen) to open the message's sheet, as
 * on phones' chat apps; moving the finger (scrolling) cancels it. Links and buttons keep their taps.
 */
function useLongPress(onLongPress: () => void) {
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const start = useRef({ x: 0, y: 0 });
  const cancel = () => {
    clearTimeout(timer.current);
    timer.current = undefined;
  };
  return {
    onPointerDown(event: PointerEvent) {
      if (event.button !== 0 || (event.pointerType !== 'touch' && !isPhoneLayout())) return;
      if ((event.target as Element).closest('a, .reply-quote')) return;
      start.current = { x: event.clientX, y: event.clientY };
      cancel();
      timer.current = setTimeout(() => {
        timer.current = undefined;
        navigator.vibrate?.(10);
        onLongPress();
      }, LONG_PRESS_MS);
    },
    onPointerMove(event: PointerEvent) {
      const moved = Math.hypot(event.clientX - start.current.x, event.clientY - start.current.y);
      if (moved > LONG_PRESS_SLOP_PX) cancel();
    },
    onPointerUp: cancel,
    onPointerCancel: cancel,
    onPointerLeave: cancel,
    // The phone's own long-press menu (select, copy) would cover the sheet.
    onContextMenu(event: MouseEvent) {
      if (isPhoneLayout()) event.preventDefault();
    },
  };
}

/** Who in a group has read your message, and who only has it: "Read by Bob, Carol · Delivered to Dave". */
function receiptDetail(session: ChatSession, receipts: MemberReceipt[]): string | undefined {
  const names = (which: MemberReceipt[]) => which.map((r) => session.profiles.nameOf(r.userId)).join(', ');
  const read = receipts.filter((r) => r.read);
  const delivered = receipts.filter((r) => r.delivered && !r.read);
  const parts = [
    read.length > 0 && `Read by ${names(read)}`,
    delivered.length > 0 && `Delivered to ${names(delivered)}`,
  ];
  return parts.filter(Boolean).join(' · ') || undefined;
}

function Ticks({ status, detail }: { status: MessageStatus; detail?: string | undefined }) {
  const label = detail ? `${STATUS_LABELS[status]}. ${detail}` : STATUS_LABELS[status];
  return (
    <span className={`ticks ${status}`} role="img" aria-label={label} title={label}>
      {status === 'sending' && (
        <svg viewBox="0 0 16 16" aria-hidden="true">
          <circle cx="8" cy="8" r="6" />
          <path d="M8 4.5V8l2.5 1.5" />
        </svg>
      )}
      {status === 'failed' && <span aria-hidden="true">!</span>}
      {(status === 'sent' || status === 'delivered' || status === 'read') && (
        <svg viewBox="0 0 22 16" aria-hidden="true">
          <path d="M1.5 8.5l3.5 3.5 7-8" />
          {status !== 'sent' && <path d="M9 12l8-8" />}
        </svg>
      )}
    </span>
  );
}
