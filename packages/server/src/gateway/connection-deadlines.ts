import { type Clock, MAX_TIMER_MS, type Timer } from '../clock.js';

/** What the schedule keeps on each entry: its deadline, and its place in the heap (-1: not in it). */
export interface HasDeadline {
  deadline: number;
  deadlineSlot: number;
}

/**
 * Per-connection deadlines (the auth timeout, the token's expiry) on one shared timer instead of a
 * timer and two closures per connection, which an idle server paid for every socket (a heap
 * snapshot of 2,000 connections put them at about 0.7 KiB each). A binary min-heap on `deadline`
 * with each entry's index kept on the entry, so that removing one is O(log n) and a closed
 * connection is never kept alive by it.
 *
 * Contract: `onDue(entry)` runs once for each entry whose deadline has come (no earlier than it,
 * as a timer of its own would), earliest first, after it has left the schedule; an entry is in the
 * schedule at most once (`set` moves it); `clear` of an entry that is not in it does nothing.
 */
export class ConnectionDeadlines<T extends HasDeadline> {
  private readonly heap: T[] = [];
  private timer: Timer | undefined;
  /** The deadline the timer is set for (Infinity when none is). */
  private armedFor = Number.POSITIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: (entry: T) => void,
  ) {}

  get size(): number {
    return this.heap.length;
  }

  /** Schedules `entry` at `deadline` (ms since the epoch, the clock's scale), replacing its earlier one. */
  set(entry: T, deadline: number): void {
    this.clear(entry);
    entry.deadline = deadline;
    entry.deadlineSlot = this.heap.length;
    this.heap.push(entry);
    this.up(entry.deadlineSlot);
    if (deadline < this.armedFor) this.arm();
  }

  clear(entry: T): void {
    const slot = entry.deadlineSlot;
    if (slot < 0 || this.heap[slot] !== entry) return;
    entry.deadlineSlot = -1;
    const last = this.heap.pop() as T;
    if (slot === this.heap.length) return;
    this.heap[slot] = last;
    last.deadlineSlot = slot;
    this.down(slot);
    this.up(last.deadlineSlot);
  }

  private arm(): void {
    this.timer?.cancel();
    const first = this.heap[0];
    if (!first) {
      this.timer = undefined;
      this.armedFor = Number.POSITIVE_INFINITY;
      return;
    }
    this.armedFor = first.deadline;
    const delay = Math.max(0, Math.min(first.deadline - this.clock.now(), MAX_TIMER_MS));
    this.timer = this.clock.after(delay, () => this.fire());
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    for (let first = this.heap[0]; first !== undefined && first.deadline <= now; first = this.heap[0]) {
      this.clear(first);
      this.onDue(first);
    }
    if (this.timer === undefined) this.arm();
  }

  private up(slot: number): void {
    const entry = this.heap[slot] as T;
    while (slot > 0) {
      const parentSlot = (slot - 1) >> 1;
      const parent = this.heap[parentSlot] as T;
      if (parent.deadline <= entry.deadline) break;
      this.heap[slot] = parent;
      parent.deadlineSlot = slot;
      slot = parentSlot;
    }
    this.heap[slot] = entry;
    entry.deadlineSlot = slot;
  }

  private down(slot: number): void {
    const entry = this.heap[slot] as T;
    const n = this.heap.length;
    for (;;) {
      let child = 2 * slot + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && (this.heap[right] as T).deadline < (this.heap[child] as T).deadline) child = right;
      const smaller = this.heap[child] as T;
      if (smaller.deadline >= entry.deadline) break;
      this.heap[slot] = smaller;
      smaller.deadlineSlot = slot;
      slot = child;
    }
    this.heap[slot] = entry;
    entry.deadlineSlot = slot;
  }
}
