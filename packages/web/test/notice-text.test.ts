import type { NoticeView } from '@natter/client';
import { describe, expect, it } from 'vitest';
import { clip, noticeText } from '../src/notice-text.js';

const names: Record<string, string> = { u_alice: 'Alice', u_bob: 'Bob' };
const nameOf = (userId: string) => names[userId] ?? userId;

function notice(kind: NoticeView['kind'], actorId: string, refSeq: number | null = null): NoticeView {
  return {
    conversationId: 'c1',
    seq: 9,
    kind,
    actorId,
    userId: null,
    role: null,
    title: null,
    memberIds: [],
    refSeq,
    groupMentions: null,
    posting: null,
    createdAt: 0,
  };
}

describe('pin lines in the timeline', () => {
  it('quote the message pinned when it is held, else say "a message"', () => {
    const textOf = (seq: number) => (seq === 4 ? 'Lunch at noon on Friday' : null);
    expect(noticeText(notice('pinned', 'u_alice', 4), 'u_bob', nameOf, 'group', textOf)).toBe(
      'Alice pinned “Lunch at noon on Friday”',
    );
    expect(noticeText(notice('unpinned', 'u_bob', 4), 'u_bob', nameOf, 'direct', textOf)).toBe(
      'You unpinned “Lunch at noon on Friday”',
    );
    expect(noticeText(notice('pinned', 'u_alice', 7), 'u_bob', nameOf, 'group', textOf)).toBe(
      'Alice pinned a message',
    );
    expect(noticeText(notice('pinned', 'u_alice', 4), 'u_bob', nameOf, 'group')).toBe(
      'Alice pinned a message',
    );
  });
});

describe('clip', () => {
  it('keeps short text, cuts long text at a code point with "…"', () => {
    expect(clip('  short  ', 10)).toBe('short');
    expect(clip('abcdefghij', 10)).toBe('abcdefghij');
    expect(clip('abcdefghijk', 10)).toBe('abcdefghi…');
    expect(clip('😀😀😀😀', 3)).toBe('😀😀…');
  });
});
