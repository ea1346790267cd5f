import { NatterError } from '@natter/protocol';

/** Weight of the newest run in the average run time. */
const SMOOTHING = 0.2;

/**
 * Runs at most `maxRunning` tasks at once and queues up to `maxQueued` more, first come first
 * served. Past that a task is not run at all: `run` rejects with `rate_limited`, whose
 * retry_after_ms is how long the work already admitted takes at the pace measured so far
 * (`expectedTaskMs` until a task has finished). A task's failure is its caller's; its slot is
 * freed either way.
 */
export class ConcurrencyLimit {
  private running = 0;
  private readonly queue: Array<() => void> = [];
  private averageMs: number;
  private readonly now: () => number;

  constructor(
    private readonly maxRunning: number,
    private readonly maxQueued: number,
    options: { expectedTaskMs: number; now?: () => number },
  ) {
    this.averageMs = options.expectedTaskMs;
    this.now = options.now ?? (() => performance.now());
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running < this.maxRunning) this.running += 1;
    else if (this.queue.length < this.maxQueued) await new Promise<void>((start) => this.queue.push(start));
    else throw this.refusal();
    const startedAt = this.now();
    try {
      return await task();
    } finally {
      this.averageMs += (this.now() - startedAt - this.averageMs) * SMOOTHING;
      const next = this.queue.shift();
      // The slot passes straight to the next in line, so a newcomer cannot overtake the queue.
      if (next) next();
      else this.running -= 1;
    }
  }

  private refusal(): NatterError {
    const ahead = this.running + this.queue.length;
    return new NatterError('rate_limited', undefined, {
      retryAfterMs: Math.max(1, Math.ceil((this.averageMs * ahead) / this.maxRunning)),
    });
  }
}
