import type { MessageView, NoticeView, TimelineItem } from '@natter/client';
import type { ConversationSummary } from '@natter/protocol';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { ChatSession } from '../chat-session.js';
import { formatDay, sameDay } from '../format.js';
import { HIGHLIGHT_MS, jumpToMessage, registerRevealer } from '../jump-to-message.js';
import type { MessageHandlers } from '../message-actions.js';
import { plainText } from '../message-markup.js';
import { noticeText } from '../notice-text.js';
import { MessageBubble } from './message-bubble.js';

type Row =
  | { kind: 'day'; key: string; label: string }
  | { kind: 'message'; key: string; message: MessageView; showSender: boolean }
  | { kind: 'notice'; key: string; notice: NoticeView; text: string };

interface Props {
  session: ChatSession;
  summary: ConversationSummary;
  timeline: TimelineItem[];
  handlers: MessageHandlers;
}

const NEAR_EDGE_PX = 120;

/**
 * The messages of a conversation, virtualized so a long history stays smooth: only the rows near
 * the viewport are in the DOM. It sticks to the bottom while you are there, loads older pages when
 * you scroll near the top, and keeps your place when they arrive.
 */
export function MessageList({ session, summary, timeline, handlers }: Props) {
  const id = summary.conversation_id;
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const [hasOlder, setHasOlder] = useState(true);
  const [pagesLoaded, setPagesLoaded] = useState(0);
  const loading = useRef(false);
  const rows = useMemo(() => toRows(timeline, summary, session), [timeline, summary, session]);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: (index) => (rows[index]?.kind === 'message' ? 64 : 40),
    getItemKey: (index) => rows[index]!.key,
    overscan: 12,
  });
  const lastKey = rows.at(-1)?.key;
  const firstKey = rows[0]?.key;
  const anchor = useRef<{ firstKey: string | undefined; fromBottom: number } | null>(null);
  const [highlighted, setHighlighted] = useState<number | null>(null);
  const currentRows = useRef(rows);
  currentRows.current = rows;

  // Jumps to a message (a reply's quote, the pinned list): scroll to its row and flash it.
  useEffect(() => {
    let unflash: ReturnType<typeof setTimeout> | undefined;
    const unregister = registerRevealer(id, {
      reveal(seq) {
        const index = currentRows.current.findIndex(
          (row) => row.kind === 'message' && row.message.seq === seq,
        );
        if (index === -1) return false;
        atBottom.current = false;
        virtualizer.scrollToIndex(index, { align: 'center' });
        setHighlighted(seq);
        clearTimeout(unflash);
        unflash = setTimeout(() => setHighlighted(null), HIGHLIGHT_MS);
        return true;
      },
    });
    return () => {
      unregister();
      clearTimeout(unflash);
    };
  }, [id, virtualizer]);

  const loadOlder = useCallback(async () => {
    if (loading.current || !hasOlder) return;
    loading.current = true;
    const element = scroller.current;
    anchor.current = element ? { firstKey, fromBottom: element.scrollHeight - element.scrollTop } : null;
    try {
      setHasOlder(await session.state.loadOlder(id));
      setPagesLoaded((pages) => pages + 1);
    } catch {
      anchor.current = null;
    } finally {
      loading.current = false;
    }
  }, [session, id, hasOlder, firstKey]);

  // Opening a conversation (or coming back online with it open) loads its newest pages until
  // enough is held (a page of thread replies adds nothing here); later pages come from scrolling.
  const live = session.connection === 'live';
  // biome-ignore lint/correctness/useExhaustiveDependencies: per conversation, connection and page loaded, not on every change
  useEffect(() => {
    if (live && summary.last_seq > 0 && timeline.filter(isStored).length < 30) void loadOlder();
  }, [id, live, pagesLoaded]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when the first or last row changes
  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const kept = anchor.current;
    if (kept && kept.firstKey !== firstKey) {
      // Older messages were added above: keep what you were looking at where it was.
      element.scrollTop = element.scrollHeight - kept.fromBottom;
      anchor.current = null;
    } else if (atBottom.current && rows.length > 0) {
      virtualizer.scrollToIndex(rows.length - 1, { align: 'end' });
    }
  }, [lastKey, firstKey, rows.length, virtualizer]);

  return (
    <div
      ref={scroller}
      className="messages"
      role="log"
      aria-label="Messages"
      // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard to scroll it
      tabIndex={0}
      onScroll={(event) => {
        const element = event.currentTarget;
        atBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < NEAR_EDGE_PX;
        if (element.scrollTop < NEAR_EDGE_PX) void loadOlder();
      }}
    >
      <div className="messages-inner" style={{ height: virtualizer.getTotalSize() }}>
        {virtualizer.getVirtualItems().map((item) => {
          const row = rows[item.index]!;
          return (
            <div
              key={item.key}
              data-index={item.index}
              ref={virtualizer.measureElement}
              className="message-row"
              style={{ transform: `translateY(${item.start}px)` }}
            >
              {row.kind === 'day' ? (
                <div className="day-separator">
                  <span>{row.label}</span>
                </div>
              ) : row.kind === 'notice' ? (
                <Notice session={session} notice={row.notice} text={row.text} />
              ) : (
                <MessageBubble
                  session={session}
                  summary={summary}
                  message={row.message}
                  showSender={row.showSender}
                  highlighted={row.message.seq !== null && row.message.seq === highlighted}
                  handlers={handlers}
                />
              )}
            </div>
          );
        })}
      </div>
      {rows.length === 0 && <p className="messages-empty">No messages yet. Say hello!</p>}
    </div>
  );
}

/** A timeline line; a pin's line also takes you to the message pinned. */
function Notice({ session, notice, text }: { session: ChatSession; notice: NoticeView; text: string }) {
  const target = notice.kind === 'pinned' ? notice.refSeq : null;
  return (
    <p className="notice" data-seq={notice.seq}>
      {target === null ? (
        text
      ) : (
        <button
          type="button"
          className="notice-link"
          title="Show the message"
          onClick={() => void jumpToMessage(session.state, notice.conversationId, target)}
        >
          {text}
        </button>
      )}
    </p>
  );
}

function toRows(timeline: TimelineItem[], summary: ConversationSummary, session: ChatSession): Row[] {
  const group = summary.kind === 'group';
  const me = session.account.userId;
  const nameOf = (userId: string) => session.profiles.nameOf(userId);
  const textOf = (seq: number) => {
    const body = session.state.message(summary.conversation_id, seq)?.body;
    return body ? plainText(body) : null;
  };
  const rows: Row[] = [];
  let day: number | undefined;
  /** The sender of the message just above, if the row above is a message of the same day. */
  let previousSender: string | undefined;
  for (const item of timeline) {
    const at = item.type === 'message' ? item.message.createdAt : item.notice.createdAt;
    if (day === undefined || !sameDay(day, at)) {
      rows.push({ kind: 'day', key: `day-${at}`, label: formatDay(at) });
      previousSender = undefined;
    }
    day = at;
    if (item.type === 'notice') {
      const text = noticeText(item.notice, me, nameOf, group, textOf);
      if (text !== null)
        rows.push({ kind: 'notice', key: `seq-${item.notice.seq}`, notice: item.notice, text });
      previousSender = undefined;
      continue;
    }
    const { message } = item;
    const showSender = group && message.senderId !== me && previousSender !== message.senderId;
    rows.push({ kind: 'message', key: keyOf(message), message, showSender });
    previousSender = message.senderId;
  }
  return rows;
}

function isStored(item: TimelineItem): boolean {
  return item.type === 'notice' || item.message.seq !== null;
}

/** The outbox id while sending and after: the row keeps its identity when the ack arrives. */
export function keyOf(message: MessageView): string {
  return message.clientMsgId ?? `seq-${message.seq}`;
}
