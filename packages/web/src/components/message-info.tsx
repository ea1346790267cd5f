import type { MemberReceipt, MessageView } from '@natter/client';
import type { ChatSession } from '../chat-session.js';
import { formatAgo } from '../format.js';
import { plainText } from '../message-markup.js';
import { clip } from '../notice-text.js';
import { useSession } from '../use-session.js';
import { Avatar } from './avatar.js';
import { Icon } from './icons.js';
import { Popover } from './popover.js';

const QUOTE_CHARS = 80;

/**
 * "Message info" for one of your messages: who has read it, who has it on a device but has not
 * read it yet, and who does not have it yet, among the members who can see it (from the members'
 * cursors, kept live by receipts). A panel beside the message on desktop, a sheet on phones.
 */
export function MessageInfo({
  session,
  message,
  anchor,
  onClose,
}: {
  session: ChatSession;
  message: MessageView & { seq: number };
  anchor: HTMLElement | null;
  onClose: () => void;
}) {
  // Receipts move with the conversation's version (its members' cursors are part of it).
  useSession(session, (s) => s.state.versionOf(message.conversationId));
  const receipts = session.state.receiptsOf(message.conversationId, message.seq);
  const read = receipts?.filter((r) => r.read) ?? [];
  const delivered = receipts?.filter((r) => r.delivered && !r.read) ?? [];
  const waiting = receipts?.filter((r) => !r.delivered) ?? [];
  return (
    <Popover anchor={anchor} label="Message info" onClose={onClose} className="message-info">
      <header className="message-info-header">
        <div className="message-info-title">
          <h3>Message info</h3>
          <button
            type="button"
            className="icon-button small"
            aria-label="Close message info"
            onClick={onClose}
          >
            <Icon name="close" />
          </button>
        </div>
        <p className="message-info-quote">{clip(plainText(message.body ?? ''), QUOTE_CHARS)}</p>
        <p className="message-info-sent">
          Sent{' '}
          <time dateTime={new Date(message.createdAt).toISOString()}>{formatAgo(message.createdAt)}</time>
        </p>
      </header>
      {receipts === undefined ? (
        <p className="message-info-empty">Loading who has read it…</p>
      ) : receipts.length === 0 ? (
        <p className="message-info-empty">Nobody else can see this message.</p>
      ) : (
        <>
          <ReceiptSection session={session} title="Read by" tick="read" people={read} />
          <ReceiptSection session={session} title="Delivered to" tick="delivered" people={delivered} />
          <ReceiptSection session={session} title="Not delivered yet" tick="sent" people={waiting} />
        </>
      )}
    </Popover>
  );
}

function ReceiptSection({
  session,
  title,
  tick,
  people,
}: {
  session: ChatSession;
  title: string;
  tick: 'read' | 'delivered' | 'sent';
  people: MemberReceipt[];
}) {
  if (people.length === 0) return null;
  return (
    <section className={`receipt-section ${tick}`} aria-label={title}>
      <h4>
        {title} <span className="receipt-count">{people.length}</span>
      </h4>
      <ul>
        {people.map((person) => {
          const name = session.profiles.nameOf(person.userId);
          return (
            <li key={person.userId}>
              <Avatar name={name} />
              <span className="receipt-name">{name}</span>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
