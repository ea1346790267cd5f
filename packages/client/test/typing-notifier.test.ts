import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TypingNotifier } from '../src/index.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('TypingNotifier', () => {
  it('sends at most one start per 3 s while typing, and a stop after 5 s idle', () => {
    const signals: Array<[number, string]> = [];
    const start = Date.now();
    const notifier = new TypingNotifier((state) => signals.push([Date.now() - start, state]));
    for (let t = 0; t <= 7000; t += 500) {
      notifier.keystroke();
      vi.advanceTimersByTime(500);
    }
    expect(signals).toEqual([
      [0, 'start'],
      [3000, 'start'],
      [6000, 'start'],
    ]);
    vi.advanceTimersByTime(4499);
    expect(signals).toHaveLength(3);
    vi.advanceTimersByTime(1);
    expect(signals.at(-1)).toEqual([12_000, 'stop']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stops at once when the message is sent, and starts afresh on the next keystroke', () => {
    const signals: string[] = [];
    const notifier = new TypingNotifier((state) => signals.push(state));
    notifier.keystroke();
    notifier.keystroke();
    notifier.stop();
    notifier.stop();
    expect(vi.getTimerCount()).toBe(0);
    notifier.keystroke();
    vi.advanceTimersByTime(10_000);
    expect(signals).toEqual(['start', 'stop', 'start', 'stop']);
  });
});
