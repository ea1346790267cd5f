import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { ManualClock } from './manual-clock.js';

describe('ManualClock', () => {
  it('stands still until advanced, then fires what fell due in time order, ties in the order set', async () => {
    const clock = new ManualClock(1000);
    const fired: string[] = [];
    clock.after(30, () => fired.push(`b@${clock.now()}`));
    clock.after(10, () => fired.push(`a@${clock.now()}`));
    clock.after(30, () => fired.push(`c@${clock.now()}`));
    clock.after(31, () => fired.push('late'));
    expect(clock.now()).toBe(1000);
    await clock.advance(30);
    expect(fired).toEqual(['a@1010', 'b@1030', 'c@1030']);
    expect(clock.now()).toBe(1030);
    expect(clock.pendingTimers).toBe(1);
  });

  it('fires an `every` as often as it falls due, until cancelled', async () => {
    const clock = new ManualClock(0);
    const ticks: number[] = [];
    const timer = clock.every(25, () => ticks.push(clock.now()));
    await clock.advance(100);
    expect(ticks).toEqual([25, 50, 75, 100]);
    timer.cancel();
    await clock.advance(100);
    expect(ticks).toHaveLength(4);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a cancelled timer never fires; one set while advancing fires in the same advance if due', async () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    clock.after(10, () => fired.push('cancelled')).cancel();
    clock.after(10, () => clock.after(5, () => fired.push(`chained@${clock.now()}`)));
    await clock.advance(20);
    expect(fired).toEqual(['chained@15']);
  });

  it('lets the promise callbacks a firing starts run before the next timer fires', async () => {
    const clock = new ManualClock(0);
    const order: string[] = [];
    clock.after(10, () => {
      void Promise.resolve().then(() => order.push('lookup answered'));
    });
    clock.after(11, () => order.push('fallback'));
    await clock.advance(11);
    expect(order).toEqual(['lookup answered', 'fallback']);
  });
});

describe('systemClock', () => {
  it('tells the real time and fires real timers unless cancelled', async () => {
    const before = Date.now();
    expect(systemClock.now()).toBeGreaterThanOrEqual(before);
    const fired: string[] = [];
    systemClock.after(5, () => fired.push('after')).cancel();
    const every = systemClock.every(2, () => fired.push('every'));
    await new Promise<void>((resolve) => systemClock.after(20, resolve));
    every.cancel();
    expect(fired).not.toContain('after');
    expect(fired).toContain('every');
  });
});
