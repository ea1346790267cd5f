import type { ConversationSummary } from '@natter/protocol';
import type { ChatSession } from '../chat-session.js';
import { jumpToMessage } from '../jump-to-message.js';
import { plainText } from '../message-markup.js';
import { clip } from '../notice-text.js';
import { Popover } from './popover.js';

const SNIPPET_CHARS = 120;

interface Props {
  session: ChatSession;
  summary: ConversationSummary;
  anchor: HTMLElement | null;
  onClose: () => void;
  onMissing: () => void;
}

/**
 * The pinned messages, most recently pinned first: who sent each and how it starts; a click shows
 * it in the conversation. A pin older than the history loaded so far has no text here until
 * a jump loads it (shown as "Earlier message").
 */
export function PinnedPanel({ session, summary, anchor, onClose, onMissing }: Props) {
  const id = summary.conversation_id;
  return (
    <Popover anchor={anchor} label="Pinned messages" onClose={onClose} className="pinned-panel">
      <h3 className="popover-title">
        {summary.pinned.length === 1 ? '1 pinned message' : `${summary.pinned.length} pinned messages`}
      </h3>
      <ul className="pinned-list">
        {summary.pinned.map((seq) => {
          const message = session.state.message(id, seq);
          const sender = message
            ? message.senderId === session.account.userId
              ? 'You'
              : session.profiles.nameOf(message.senderId)
            : 'Earlier message';
          const text = message?.body
            ? clip(plainText(message.body), SNIPPET_CHARS)
            : 'Not loaded yet: show it in the conversation';
          return (
            <li key={seq}>
              <button
                type="button"
                className="pinned-item"
                onClick={() => {
                  onClose();
                  void jumpToMessage(session.state, id, seq).then((shown) => {
                    if (!shown) onMissing();
                  });
                }}
              >
                <span className="pinned-sender">{sender}</span>
                <span className="pinned-text">{text}</span>
              </button>
            </li>
          );
        })}
      </ul>
    </Popover>
  );
}
