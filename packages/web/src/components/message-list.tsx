import type { NoticeView, TimelineItem } from '@natter/client';
import type { ConversationSummary } from '@natter/protocol/core';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { ChatSession } from '../chat-session.js';
import { HIGHLIGHT_MS, JUMP_MAX_PAGES, jumpToMessage, registerRevealer } from '../jump-to-message.js';
import type { MessageHandlers } from '../message-actions.js';
import { plainText } from '../message-markup.js';
import { type Row, type RowContext, toRows } from '../timeline-rows.js';
import { useNow } from '../use-session.js';
import { MessageBubble } from './message-bubble.js';

interface Props {
  session: ChatSession;
  summary: ConversationSummary;
  timeline: TimelineItem[];
  handlers: MessageHandlers;
  /** The message being edited in the composer: highlighted. */
  editingSeq: number | null;
}

const NEAR_EDGE_PX = 120;
/** Newest pages loaded when a conversation opens, before scrolling asks for more. */
const OPENING_MESSAGES = 30;

/**
 * The messages of a conversation, virtualized so a long history stays smooth: only the rows near
 * the viewport are in the DOM. It opens at the first unread message (below an "Unread messages"
 * divider) or at the bottom, sticks to the bottom while you are there, jumps there when you send,
 * offers "↓ N new" when you have scrolled up, loads older pages when you scroll near the top, and
 * keeps your place when they arrive.
 */
export function MessageList({ session, summary, timeline, handlers, editingSeq }: Props) {
  const id = summary.conversation_id;
  const me = session.account.userId;
  // What was unread when the conversation opened: reading it (at once) does not move the divider.
  const [unreadAfter] = useState(() => (summary.unread > 0 ? summary.read_seq : null));
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const [awayFromBottom, setAwayFromBottom] = useState(false);
  /** The newest message that has been on screen: those after it are "new" below. */
  const [seenUpTo, setSeenUpTo] = useState(summary.read_seq);
  /** Whether the list has been placed at the first unread (or the bottom) since it opened. */
  const placed = useRef(false);
  const [hasOlder, setHasOlder] = useState(true);
  const [pagesLoaded, setPagesLoaded] = useState(0);
  const loading = useRef(false);
  // A minute's precision is enough for "Today" to become "Yesterday" after midnight.
  const now = useNow(60_000);
  const rows = useMemo(
    () => toRows(timeline, summary, rowContext(session, id, now), unreadAfter),
    [timeline, summary, session, id, now, unreadAfter],
  );
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: (index) => (rows[index]?.kind === 'message' ? 64 : 40),
    getItemKey: (index) => rows[index]!.key,
    overscan: 12,
  });
  const lastKey = rows.at(-1)?.key;
  const firstKey = rows[0]?.key;
  const previousLastKey = useRef(lastKey);
  const anchor = useRef<{ firstKey: string | undefined; fromBottom: number } | null>(null);
  const [highlighted, setHighlighted] = useState<number | null>(null);
  const currentRows = useRef(rows);
  currentRows.current = rows;
  const oldestHeld = timeline.find(isStored);
  // The divider stands above the first unread message only once that message (or the start of
  // the history, or the furthest page looked for) is held.
  const unreadFound =
    unreadAfter === null ||
    !hasOlder ||
    pagesLoaded >= JUMP_MAX_PAGES ||
    (oldestHeld !== undefined && seqOf(oldestHeld) <= Math.max(unreadAfter, summary.joined_seq));
  const newBelow = awayFromBottom ? countNewFromOthers(rows, me, seenUpTo) : 0;

  const scrollToLatest = useCallback(() => {
    atBottom.current = true;
    const count = currentRows.current.length;
    if (count > 0) virtualizer.scrollToIndex(count - 1, { align: 'end' });
  }, [virtualizer]);

  /** Notes whether the bottom is in view and which messages have been seen. */
  const followScroll = useCallback(() => {
    const element = scroller.current;
    if (!element) return;
    const bottom = element.scrollTop + element.clientHeight;
    atBottom.current = element.scrollHeight - bottom < NEAR_EDGE_PX;
    setAwayFromBottom(!atBottom.current);
    // While the list is still being placed, whatever flashed by was not read.
    if (!placed.current) return;
    let seen = 0;
    for (const item of virtualizer.getVirtualItems()) {
      const row = currentRows.current[item.index];
      if (item.start < bottom - NEAR_EDGE_PX / 4 && row?.kind === 'message' && row.message.seq !== null)
        seen = Math.max(seen, row.message.seq);
    }
    setSeenUpTo((before) => Math.max(before, seen));
  }, [virtualizer]);

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

  // The message being edited (↑ picks one that may be out of view) is brought into view.
  useEffect(() => {
    if (editingSeq === null) return;
    const index = currentRows.current.findIndex(
      (row) => row.kind === 'message' && row.message.seq === editingSeq,
    );
    if (index !== -1) virtualizer.scrollToIndex(index, { align: 'auto' });
  }, [editingSeq, virtualizer]);

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
  // enough is held (a page of thread replies adds nothing here) and the first unread message is
  // among them; later pages come from scrolling.
  const live = session.connection === 'live';
  // biome-ignore lint/correctness/useExhaustiveDependencies: per conversation, connection and page loaded, not on every change
  useEffect(() => {
    if (!live || summary.last_seq === 0) return;
    if (timeline.filter(isStored).length < OPENING_MESSAGES || !unreadFound) void loadOlder();
  }, [id, live, pagesLoaded]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when the first or last row changes
  useLayoutEffect(() => {
    const element = scroller.current;
    const last = rows.at(-1);
    const sentByMe =
      lastKey !== previousLastKey.current &&
      last?.kind === 'message' &&
      last.message.senderId === me &&
      last.message.seq === null;
    previousLastKey.current = lastKey;
    if (!element || !last) return;
    if (!placed.current && unreadFound) {
      placed.current = true;
      anchor.current = null;
      const divider = rows.findIndex((row) => row.kind === 'unread');
      if (divider !== -1) {
        atBottom.current = false;
        virtualizer.scrollToIndex(divider, { align: 'start' });
        return;
      }
    }
    const kept = anchor.current;
    if (kept && kept.firstKey !== firstKey) {
      // Older messages were added above: keep what you were looking at where it was.
      element.scrollTop = element.scrollHeight - kept.fromBottom;
      anchor.current = null;
    } else if (sentByMe || atBottom.current) {
      scrollToLatest();
    }
  }, [lastKey, firstKey, rows.length, unreadFound, virtualizer]);

  // Rows measured taller than estimated (or a wider window) must not lift the bottom out of view.
  useEffect(() => {
    const element = scroller.current;
    const inner = element?.firstElementChild;
    if (!element || !inner) return;
    const observer = new ResizeObserver(() => {
      if (atBottom.current) element.scrollTop = element.scrollHeight;
    });
    observer.observe(inner);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  return (
    <div className="message-pane">
      <div
        ref={scroller}
        className="messages"
        role="log"
        aria-label="Messages"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard to scroll it
        tabIndex={0}
        onScroll={(event) => {
          followScroll();
          if (event.currentTarget.scrollTop < NEAR_EDGE_PX) void loadOlder();
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
                className={`message-row${row.kind === 'message' && !row.runStart ? ' in-run' : ''}`}
                style={{ transform: `translateY(${item.start}px)` }}
              >
                {row.kind === 'day' ? (
                  <div className="day-separator">
                    <span>{row.label}</span>
                  </div>
                ) : row.kind === 'unread' ? (
                  <div className="unread-divider">
                    <span>Unread messages</span>
                  </div>
                ) : row.kind === 'notice' ? (
                  <Notice session={session} notice={row.notice} text={row.text} />
                ) : (
                  <MessageBubble
                    session={session}
                    summary={summary}
                    message={row.message}
                    showSender={row.showSender}
                    runStart={row.runStart}
                    runEnd={row.runEnd}
                    highlighted={row.message.seq !== null && row.message.seq === highlighted}
                    editing={row.message.seq !== null && row.message.seq === editingSeq}
                    handlers={handlers}
                  />
                )}
              </div>
            );
          })}
        </div>
        {rows.length === 0 && <p className="messages-empty">No messages yet. Say hello!</p>}
      </div>
      {awayFromBottom && (
        <button type="button" className="jump-to-latest" title="Jump to the latest" onClick={scrollToLatest}>
          <span aria-hidden="true">↓</span>
          {newBelow > 0 ? ` ${newBelow} new` : <span className="sr-only">Jump to the latest</span>}
        </button>
      )}
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

function rowContext(session: ChatSession, conversationId: string, now: number): RowContext {
  return {
    me: session.account.userId,
    nameOf: (userId) => session.profiles.nameOf(userId),
    textOf: (seq) => {
      const body = session.state.message(conversationId, seq)?.body;
      return body ? plainText(body) : null;
    },
    now,
  };
}

function isStored(item: TimelineItem): boolean {
  return item.type === 'notice' || item.message.seq !== null;
}

function seqOf(item: TimelineItem): number {
  return (item.type === 'notice' ? item.notice.seq : item.message.seq) ?? Number.POSITIVE_INFINITY;
}

/** Messages from others after `seenUpTo`: what "↓ N new" counts. */
function countNewFromOthers(rows: Row[], me: string, seenUpTo: number): number {
  let count = 0;
  for (const row of rows) {
    if (row.kind === 'message' && row.message.senderId !== me && (row.message.seq ?? 0) > seenUpTo) count++;
  }
  return count;
}
