import type { Clock, Timer } from '../../src/clock.js';

interface Scheduled {
  at: number;
  /** Breaks ties between timers due at the same moment: the one set first fires first. */
  order: number;
  fire: () => void;
  /** Set for `every`: the timer is due again this long after each firing. */
  interval?: number;
}

/**
 * A clock for tests: time stands still until `advance` moves it. It starts at the real time (so
 * times it hands out, like last_seen, look like real ones) unless told otherwise.
 */
export class ManualClock implements Clock {
  private current: number;
  private readonly timers = new Set<Scheduled>();
  private nextOrder = 0;
  private advancing = false;

  constructor(start = Date.now()) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  after(ms: number, fire: () => void): Timer {
    return this.schedule({ at: this.current + Math.max(0, ms), order: this.nextOrder++, fire });
  }

  every(ms: number, fire: () => void): Timer {
    const interval = Math.max(1, ms);
    return this.schedule({ at: this.current + interval, order: this.nextOrder++, fire, interval });
  }

  /** Timers set and neither fired (for `after`) nor cancelled. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /**
   * Moves time forward by `ms`, firing each timer that falls due at its own moment, earliest first
   * (an `every` as often as it falls due). After each firing it lets the promise callbacks and the
   * I/O that firing started run, as they would before the next timer in real time: a heartbeat's
   * store lookup resolves before the fallback timer it set can fire.
   */
  async advance(ms: number): Promise<void> {
    if (this.advancing) throw new Error('ManualClock.advance called while an advance is under way');
    this.advancing = true;
    try {
      const target = this.current + ms;
      for (let due = this.nextDue(target); due; due = this.nextDue(target)) {
        this.current = due.at;
        if (due.interval === undefined) this.timers.delete(due);
        else {
          due.at += due.interval;
          due.order = this.nextOrder++;
        }
        due.fire();
        await new Promise((resolve) => setImmediate(resolve));
      }
      this.current = target;
    } finally {
      this.advancing = false;
    }
  }

  private schedule(timer: Scheduled): Timer {
    this.timers.add(timer);
    return { cancel: () => this.timers.delete(timer) };
  }

  private nextDue(target: number): Scheduled | undefined {
    let next: Scheduled | undefined;
    for (const timer of this.timers) {
      if (timer.at > target) continue;
      if (!next || timer.at < next.at || (timer.at === next.at && timer.order < next.order)) next = timer;
    }
    return next;
  }
}
