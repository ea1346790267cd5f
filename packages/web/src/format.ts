/** Display formatting: times, days and "last seen", in the viewer's locale and time zone. */

const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const weekday = new Intl.DateTimeFormat(undefined, { weekday: 'long' });
const dateThisYear = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'long' });
const fullDate = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'long', year: 'numeric' });
const shortDate = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });

const DAY_MS = 24 * 3600 * 1000;

function startOfDay(at: number): number {
  const day = new Date(at);
  day.setHours(0, 0, 0, 0);
  return day.getTime();
}

export function formatTime(at: number): string {
  return time.format(at);
}

/**
 * The label of the day separator: Today, Yesterday, a weekday within the last week, else the
 * date in the viewer's locale, with the year only when it is not this year's.
 */
export function formatDay(at: number, now = Date.now()): string {
  const days = Math.round((startOfDay(now) - startOfDay(at)) / DAY_MS);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  if (days > 1 && days < 7) return weekday.format(at);
  return new Date(at).getFullYear() === new Date(now).getFullYear()
    ? dateThisYear.format(at)
    : fullDate.format(at);
}

export function sameDay(a: number, b: number): boolean {
  return startOfDay(a) === startOfDay(b);
}

/** The time in the conversation list: a time today, a weekday this week, else a short date. */
export function formatListTime(at: number, now = Date.now()): string {
  const days = Math.round((startOfDay(now) - startOfDay(at)) / DAY_MS);
  if (days === 0) return formatTime(at);
  if (days < 7) return weekday.format(at).slice(0, 3);
  return shortDate.format(at);
}

export function formatLastSeen(at: number | null, now = Date.now()): string {
  return at === null ? 'offline' : `last seen ${formatAgo(at, now)}`;
}

/** How long ago, for "last seen …" and "last reply …": just now, 5 min ago, today at 10:32, yesterday at 10:32. */
export function formatAgo(at: number, now = Date.now()): string {
  const minutes = Math.floor((now - at) / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  if (sameDay(at, now)) return `today at ${formatTime(at)}`;
  return `${formatDay(at, now).toLowerCase()} at ${formatTime(at)}`;
}

/** "1 member", "3 members": a count with its noun, singular for exactly one. */
export function countOf(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}
