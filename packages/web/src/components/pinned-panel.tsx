import type { ChatEvent, ConversationSummary } from '@natter/protocol/core';
import { useEffect, useState } from 'react';
import type { ChatSession } from '../chat-session.js';
import { countOf } from '../format.js';
import { jumpToMessage } from '../jump-to-message.js';
import { plainText } from '../message-markup.js';
import { clip } from '../notice-text.js';
import { Popover } from './popover.js';

const SNIPPET_CHARS = 120;
/** Pins not in the loaded history are fetched one by one when the panel opens; at most this many. */
const FETCH_AT_MOST = 20;

interface Props {
  session: ChatSession;
  summary: ConversationSummary;
  anchor: HTMLElement | null;
  onClose: () => void;
  onMissing: () => void;
}

/**
 * The pinned messages, most recently pinned first: who sent each and how it starts; a click shows
 * it in the conversation. Pins older than the history loaded so far are fetched when the panel
 * opens (each as a one-event history page), without adding them to the timeline.
 */
export function PinnedPanel({ session, summary, anchor, onClose, onMissing }: Props) {
  const id = summary.conversation_id;
  const { fetched, fetching } = useFetchedPins(session, id, summary.pinned);
  return (
    <Popover anchor={anchor} label="Pinned messages" onClose={onClose} className="pinned-panel">
      <h3 className="popover-title">{countOf(summary.pinned.length, 'pinned message', 'pinned messages')}</h3>
      <ul className="pinned-list">
        {summary.pinned.map((seq) => {
          const loaded = session.state.message(id, seq);
          const message = loaded
            ? { senderId: loaded.senderId, body: loaded.body }
            : fetchedMessage(fetched.get(seq));
          const waiting = fetching.has(seq) && !fetched.has(seq);
          const sender = message
            ? message.senderId === session.account.userId
              ? 'You'
              : session.profiles.nameOf(message.senderId)
            : 'Earlier message';
          const text = message?.body
            ? clip(plainText(message.body), SNIPPET_CHARS)
            : waiting
              ? 'Loading…'
              : 'Not loaded: show it in the conversation';
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

type Fetched = ChatEvent | 'failed';

function fetchedMessage(event: Fetched | undefined): { senderId: string; body: string | null } | null {
  return event && event !== 'failed' ? { senderId: event.sender_id, body: event.body } : null;
}

/** The pinned events not in the loaded history, fetched once per open; a failed fetch says so. */
function useFetchedPins(session: ChatSession, conversationId: string, pinned: readonly number[]) {
  const [fetched, setFetched] = useState<ReadonlyMap<number, Fetched>>(new Map());
  const missing = pinned.filter((seq) => !session.state.message(conversationId, seq)).slice(0, FETCH_AT_MOST);
  const key = missing.join(',');
  useEffect(() => {
    let open = true;
    for (const seq of key ? key.split(',').map(Number) : []) {
      session.client
        .history(conversationId, seq + 1, 1)
        .then((page) => page.events.find((e) => e.seq === seq) ?? 'failed')
        .catch((): Fetched => 'failed')
        .then((event) => {
          if (open) setFetched((before) => new Map(before).set(seq, event));
        });
    }
    return () => {
      open = false;
    };
  }, [session, conversationId, key]);
  return { fetched, fetching: new Set(missing) };
}
