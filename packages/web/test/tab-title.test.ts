import type { ConversationSummary, NotificationLevel } from '@natter/protocol/core';
import { describe, expect, it } from 'vitest';
import { tabTitle } from '../src/tab-title.js';

function summary(unread: number, mentions: number, notifications: NotificationLevel): ConversationSummary {
  return { unread, mentions, notifications } as ConversationSummary;
}

describe('tabTitle', () => {
  it('is the plain name when nothing is unread', () => {
    expect(tabTitle([])).toBe('Natter');
    expect(tabTitle([summary(0, 0, 'all')])).toBe('Natter');
  });

  it('counts unread messages of the conversations that notify, mentions of the mentions-only ones, nothing of muted ones', () => {
    expect(tabTitle([summary(3, 0, 'all'), summary(2, 1, 'all')])).toBe('(5) Natter');
    expect(tabTitle([summary(3, 0, 'all'), summary(9, 2, 'mentions'), summary(40, 4, 'none')])).toBe(
      '(5) Natter',
    );
    expect(tabTitle([summary(7, 0, 'none')])).toBe('Natter');
  });

  it('caps a huge count', () => {
    expect(tabTitle([summary(1200, 0, 'all')])).toBe('(999+) Natter');
  });
});
