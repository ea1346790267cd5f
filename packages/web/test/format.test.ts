import { describe, expect, it } from 'vitest';
import { countOf, formatAgo, formatLastSeen, formatTime } from '../src/format.js';

const MINUTE = 60_000;

describe('formatAgo and formatLastSeen', () => {
  // Noon, so "earlier today" stays today in any time zone the test runs in.
  const now = new Date(2026, 11, 4, 12, 0).getTime();

  it('says how long ago in words a person reads at a glance', () => {
    expect(formatAgo(now - 20_000, now)).toBe('just now');
    expect(formatAgo(now - 5 * MINUTE, now)).toBe('5 min ago');
    const morning = now - 3 * 60 * MINUTE;
    expect(formatAgo(morning, now)).toBe(`today at ${formatTime(morning)}`);
    const lastNight = now - 14 * 60 * MINUTE;
    expect(formatAgo(lastNight, now)).toBe(`yesterday at ${formatTime(lastNight)}`);
  });

  it('"last seen" reads the same way, and "offline" when never seen', () => {
    expect(formatLastSeen(now - 5 * MINUTE, now)).toBe('last seen 5 min ago');
    expect(formatLastSeen(null, now)).toBe('offline');
  });
});

describe('countOf', () => {
  it('uses the singular for exactly one and the plural otherwise', () => {
    expect(countOf(1, 'member', 'members')).toBe('1 member');
    expect(countOf(0, 'member', 'members')).toBe('0 members');
    expect(countOf(3, 'person', 'people')).toBe('3 people');
  });
});
