import type { MessageView, NoticeView, TimelineItem } from '@natter/client';
import type { ConversationSummary } from '@natter/protocol/core';
import type { ChatSession } from './chat-session.js';
import { formatDay, sameDay } from './format.js';
import { plainText } from './message-markup.js';
import { noticeText } from './notice-text.js';

/** One row of a conversation's message list: a day separator, the unread divider, a message or a notice line. */
export type Row =
  | { kind: 'day'; key: string; label: string }
  | { kind: 'unread'; key: string }
  | { kind: 'message'; key: string; message: MessageView; showSender: boolean }
  | { kind: 'notice'; key: string; notice: NoticeView; text: string };

/** The key of the "Unread messages" divider's row. */
export const UNREAD_KEY = 'unread';

/**
 * The rows of a timeline: a day separator where the day changes, the sender's name on the first of
 * their messages in a group, and (when `unreadAfter` is a seq) the "Unread messages" divider above
 * the first message from someone else after it.
 */
export function toRows(
  timeline: TimelineItem[],
  summary: ConversationSummary,
  session: ChatSession,
  unreadAfter: number | null,
): Row[] {
  const group = summary.kind === 'group';
  const me = session.account.userId;
  const nameOf = (userId: string) => session.profiles.nameOf(userId);
  const textOf = (seq: number) => {
    const body = session.state.message(summary.conversation_id, seq)?.body;
    return body ? plainText(body) : null;
  };
  const rows: Row[] = [];
  let day: number | undefined;
  let dividerPlaced = unreadAfter === null;
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
    if (!dividerPlaced && isUnread(message, me, unreadAfter)) {
      rows.push({ kind: 'unread', key: UNREAD_KEY });
      dividerPlaced = true;
      previousSender = undefined;
    }
    const showSender = group && message.senderId !== me && previousSender !== message.senderId;
    rows.push({ kind: 'message', key: keyOf(message), message, showSender });
    previousSender = message.senderId;
  }
  return rows;
}

function isUnread(message: MessageView, me: string, unreadAfter: number | null): boolean {
  return unreadAfter !== null && message.seq !== null && message.seq > unreadAfter && message.senderId !== me;
}

/** The outbox id while sending and after: the row keeps its identity when the ack arrives. */
export function keyOf(message: MessageView): string {
  return message.clientMsgId ?? `seq-${message.seq}`;
}
