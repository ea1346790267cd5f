import type { MessageView, NoticeView, TimelineItem } from '@natter/client';
import type { ConversationSummary } from '@natter/protocol/core';
import { describe, expect, it } from 'vitest';
import { formatDay } from '../src/format.js';
import { type Row, type RowContext, RUN_GAP_MS, toRows } from '../src/timeline-rows.js';

const MINUTE = 60_000;
// Noon on a Friday, so "earlier today" stays today in any time zone the test runs in.
const now = new Date(2026, 11, 4, 12, 0).getTime();
const names: Record<string, string> = { alice: 'Alice', bob: 'Bob', carol: 'Carol' };
const context: RowContext = { me: 'alice', nameOf: (id) => names[id] ?? id, textOf: () => null, now };

function summary(kind: 'direct' | 'group'): ConversationSummary {
  return { conversation_id: 'c1', kind } as ConversationSummary;
}

let nextSeq = 1;
function message(senderId: string, createdAt: number, body = 'hi'): TimelineItem {
  const seq = nextSeq++;
  return {
    type: 'message',
    message: {
      conversationId: 'c1',
      seq,
      clientMsgId: null,
      senderId,
      body,
      createdAt,
      deleted: false,
    } as MessageView,
  };
}

function notice(kind: NoticeView['kind'], actorId: string, userId: string, createdAt: number): TimelineItem {
  return {
    type: 'notice',
    notice: {
      conversationId: 'c1',
      seq: nextSeq++,
      kind,
      actorId,
      userId,
      role: null,
      title: null,
      memberIds: [],
      refSeq: null,
      groupMentions: null,
      posting: null,
      createdAt,
    },
  };
}

/** Each row in a few characters: `day:Today`, `msg:bob[start,sender]`, `notice:Alice added Carol`. */
function describeRows(rows: Row[]): string[] {
  return rows.map((row) => {
    if (row.kind === 'day') return `day:${row.label}`;
    if (row.kind === 'unread') return 'unread';
    if (row.kind === 'notice') return `notice:${row.text}`;
    const marks = [row.runStart && 'start', row.runEnd && 'end', row.showSender && 'sender'];
    return `msg:${row.message.senderId}[${marks.filter(Boolean).join(',')}]`;
  });
}

describe('toRows: runs of messages', () => {
  it('groups one sender’s messages within five minutes: the name on the first, the time (end) on the last', () => {
    const t = now - 60 * MINUTE;
    const rows = toRows(
      [
        message('bob', t),
        message('bob', t + MINUTE),
        message('bob', t + 2 * MINUTE),
        message('alice', t + 3 * MINUTE),
        message('alice', t + 4 * MINUTE),
        message('bob', t + 5 * MINUTE),
      ],
      summary('group'),
      context,
      null,
    );
    expect(describeRows(rows)).toEqual([
      'day:Today',
      'msg:bob[start,sender]',
      'msg:bob[]',
      'msg:bob[end]',
      'msg:alice[start]',
      'msg:alice[end]',
      'msg:bob[start,end,sender]',
    ]);
  });

  it('a gap of more than five minutes, a notice, a new day or the unread divider starts a new run', () => {
    const yesterdayLate = new Date(2026, 11, 3, 23, 58).getTime();
    const rows = toRows(
      [
        message('bob', yesterdayLate),
        message('bob', yesterdayLate + 4 * MINUTE), // 00:02 today
        message('bob', yesterdayLate + 4 * MINUTE + RUN_GAP_MS + 1),
        notice('member_added', 'bob', 'carol', yesterdayLate + 20 * MINUTE),
        message('bob', yesterdayLate + 21 * MINUTE),
        message('bob', yesterdayLate + 22 * MINUTE),
      ],
      summary('group'),
      context,
      // Bob's last message is the first unread.
      nextSeq - 2,
    );
    expect(describeRows(rows)).toEqual([
      'day:Yesterday',
      'msg:bob[start,end,sender]',
      'day:Today',
      'msg:bob[start,end,sender]',
      'msg:bob[start,end,sender]',
      'notice:Bob added Carol',
      'msg:bob[start,end,sender]',
      'unread',
      'msg:bob[start,end,sender]',
    ]);
  });

  it('in a 1:1 nobody’s name is shown, and the runs are the same for your messages and theirs', () => {
    const t = now - 30 * MINUTE;
    const rows = toRows(
      [
        message('alice', t),
        message('alice', t + MINUTE),
        message('bob', t + 2 * MINUTE),
        message('bob', t + 3 * MINUTE),
      ],
      summary('direct'),
      context,
      null,
    );
    expect(describeRows(rows)).toEqual([
      'day:Today',
      'msg:alice[start]',
      'msg:alice[end]',
      'msg:bob[start]',
      'msg:bob[end]',
    ]);
  });

  it('an empty conversation has no rows at all (no lone day separator)', () => {
    expect(toRows([], summary('group'), context, null)).toEqual([]);
  });

  it('a direct conversation’s creation shows no line and does not break a run', () => {
    const t = now - 30 * MINUTE;
    const rows = toRows(
      [message('bob', t), notice('created', 'bob', 'bob', t), message('bob', t + MINUTE)],
      summary('direct'),
      context,
      null,
    );
    expect(describeRows(rows)).toEqual(['day:Today', 'msg:bob[start]', 'msg:bob[end]']);
  });

  it('a new 1:1 holding only its creation has no rows (no lone day separator)', () => {
    const created = toRows([notice('created', 'bob', 'bob', now - MINUTE)], summary('direct'), context, null);
    expect(created).toEqual([]);
  });
});

describe('formatDay: the day separator’s label', () => {
  const daysAgo = (days: number) => new Date(2026, 11, 4 - days, 9, 30).getTime();

  it('says Today, Yesterday, then the weekday within the last week', () => {
    expect(formatDay(daysAgo(0), now)).toBe('Today');
    expect(formatDay(daysAgo(1), now)).toBe('Yesterday');
    const weekday = new Intl.DateTimeFormat(undefined, { weekday: 'long' });
    for (const days of [2, 3, 6]) expect(formatDay(daysAgo(days), now)).toBe(weekday.format(daysAgo(days)));
  });

  it('then the date in the viewer’s locale, with the year only when it is not this year', () => {
    const thisYear = daysAgo(7);
    expect(formatDay(thisYear, now)).toBe(
      new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'long' }).format(thisYear),
    );
    expect(formatDay(thisYear, now)).not.toContain('2026');
    const lastYear = new Date(2025, 11, 30, 9, 30).getTime();
    expect(formatDay(lastYear, now)).toContain('2025');
    expect(formatDay(lastYear, now)).toBe(
      new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'long', year: 'numeric' }).format(lastYear),
    );
  });
});
