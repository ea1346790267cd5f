import type { MemberReceipt, MessageStatus, MessageView } from '@natter/client';
import type { ConversationSummary } from '@natter/protocol';
import { useMemo } from 'react';
import type { ChatSession } from '../chat-session.js';
import { formatTime } from '../format.js';
import { parseMessage } from '../message-markup.js';
import { MessageText } from './message-text.js';

interface Props {
  session: ChatSession;
  summary: ConversationSummary;
  message: MessageView;
  showSender: boolean;
  onEdit: (message: MessageView) => void;
}

const STATUS_LABELS: Record<MessageStatus, string> = {
  sending: 'Sending',
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
  failed: 'Not sent',
};

/** One message: formatted text (or "deleted"), time, "edited", ticks on your own, and edit/delete actions. */
export function MessageBubble({ session, summary, message, showSender, onEdit }: Props) {
  const mine = message.senderId === session.account.userId;
  const canChange = mine && message.seq !== null && !message.deleted && summary.left_seq === null;
  const receipts =
    mine && summary.kind === 'group' && message.seq !== null
      ? session.state.receiptsOf(summary.conversation_id, message.seq)
      : undefined;
  const markup = useMemo(
    () => (message.deleted ? null : parseMessage(message.body ?? '')),
    [message.deleted, message.body],
  );
  return (
    <div
      className={`message ${mine ? 'mine' : 'theirs'}${message.deleted ? ' deleted' : ''}${markup?.emojiOnly ? ' emoji-only' : ''}`}
      data-seq={message.seq ?? undefined}
      data-status={mine ? message.status : undefined}
    >
      {/* Focusable, so a tap or Tab on your own message reveals its actions. */}
      <div className="bubble" tabIndex={canChange ? 0 : undefined}>
        {showSender && <span className="sender">{session.profiles.nameOf(message.senderId)}</span>}
        {/* A div: a code block (<pre>) may be inside. */}
        <div className="bubble-text">
          {markup ? <MessageText blocks={markup.blocks} /> : 'This message was deleted'}
        </div>
        <span className="meta">
          {message.edited && !message.deleted && <span className="edited">edited</span>}
          <time dateTime={new Date(message.createdAt).toISOString()}>{formatTime(message.createdAt)}</time>
          {mine && <Ticks status={message.status} detail={receipts && receiptDetail(session, receipts)} />}
        </span>
      </div>
      {canChange && (
        <div className="message-actions">
          <button type="button" className="link" onClick={() => onEdit(message)} aria-label="Edit message">
            Edit
          </button>
          <button
            type="button"
            className="link danger"
            aria-label="Delete message"
            onClick={() => {
              if (confirm('Delete this message for everyone?'))
                void session.client
                  .deleteMessage(message.conversationId, message.seq!)
                  .catch(() => alert('The message could not be deleted. Try again when you are online.'));
            }}
          >
            Delete
          </button>
        </div>
      )}
    </div>
  );
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
