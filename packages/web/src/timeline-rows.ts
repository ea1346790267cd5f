import type { MessageView, NoticeView, TimelineItem } from '@natter/client';
import type { ConversationSummary } from '@natter/protocol/core';
import { formatDay, sameDay } from './format.js';
import { noticeText } from './notice-text.js';

/**
 * One row of a conversation's message list: a day separator, the unread divider, a message or a
 * notice line. A message row knows its place in its run (consecutive messages of one sender, shown
 * as a group): the first shows the sender's name, the last the time, the avatar and the bubble's tail.
 */
export type Row =
  | { kind: 'day'; key: string; label: string }
  | { kind: 'unread'; key: string }
  | {
      kind: 'message';
      key: string;
      message: MessageView;
      showSender: boolean;
      /** The first of its run (more space above it); the last of its run (time, avatar, tail). */
      runStart: boolean;
      runEnd: boolean;
    }
  | { kind: 'notice'; key: string; notice: NoticeView; text: string };

/** What the rows need to know beyond the timeline: who is reading, names, and "now" for day labels. */
export interface RowContext {
  me: string;
  nameOf(userId: string): string;
  /** The plain text of a held message (a pin's line quotes it); null if not held or without text. */
  textOf(seq: number): string | null;
  now: number;
}

/** The key of the "Unread messages" divider's row. */
export const UNREAD_KEY = 'unread';

/** Messages of one sender further apart than this start a new run. */
export const RUN_GAP_MS = 5 * 60_000;

/**
 * The rows of a timeline: a day separator where the day changes (none for an empty timeline), runs
 * of messages (the sender's name on the first of a run of someone else's in a group), and (when
 * `unreadAfter` is a seq) the "Unread messages" divider above the first message from someone else
 * after it. A day separator, a notice or the divider ends a run.
 */
export function toRows(
  timeline: TimelineItem[],
  summary: ConversationSummary,
  context: RowContext,
  unreadAfter: number | null,
): Row[] {
  const group = summary.kind !== 'direct';
  const { me } = context;
  const rows: Row[] = [];
  let day: number | undefined;
  let dividerPlaced = unreadAfter === null;
  /** The message just above, while it is in the same unbroken stretch of messages. */
  let previous: MessageView | undefined;
  for (const item of timeline) {
    // A notice with no line (a 1:1's creation) takes no row, and opens no day for itself.
    const text =
      item.type === 'notice'
        ? noticeText(item.notice, me, context.nameOf, summary.kind, context.textOf)
        : null;
    if (item.type === 'notice' && text === null) continue;
    const at = item.type === 'message' ? item.message.createdAt : item.notice.createdAt;
    if (day === undefined || !sameDay(day, at)) {
      rows.push({ kind: 'day', key: `day-${at}`, label: formatDay(at, context.now) });
      previous = undefined;
    }
    day = at;
    if (item.type === 'notice') {
      rows.push({ kind: 'notice', key: `seq-${item.notice.seq}`, notice: item.notice, text: text ?? '' });
      previous = undefined;
      continue;
    }
    const { message } = item;
    if (!dividerPlaced && isUnread(message, me, unreadAfter)) {
      rows.push({ kind: 'unread', key: UNREAD_KEY });
      dividerPlaced = true;
      previous = undefined;
    }
    const runStart = previous === undefined || !continuesRun(previous, message);
    if (!runStart) {
      const above = rows.at(-1);
      if (above?.kind === 'message') above.runEnd = false;
    }
    rows.push({
      kind: 'message',
      key: keyOf(message),
      message,
      showSender: group && runStart && message.senderId !== me,
      runStart,
      runEnd: true,
    });
    previous = message;
  }
  return rows;
}

/** The same sender, within `RUN_GAP_MS` of the message above (times from the server, or the outbox). */
function continuesRun(previous: MessageView, message: MessageView): boolean {
  return (
    previous.senderId === message.senderId && Math.abs(message.createdAt - previous.createdAt) <= RUN_GAP_MS
  );
}

function isUnread(message: MessageView, me: string, unreadAfter: number | null): boolean {
  return unreadAfter !== null && message.seq !== null && message.seq > unreadAfter && message.senderId !== me;
}

/** The outbox id while sending and after: the row keeps its identity when the ack arrives. */
export function keyOf(message: MessageView): string {
  return message.clientMsgId ?? `seq-${message.seq}`;
}
