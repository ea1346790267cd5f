import { NatterError } from '@natter/protocol';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { LogStore } from '../store/log-store.js';
import type { WriteOp, WriteOutcome, WriteResult } from '../store/write-ops.js';

/** A committed op with what the caller attached to it, handed to the publisher in commit order. */
export interface Committed {
  op: WriteOp;
  result: WriteResult;
  origin: string | undefined;
}

interface Pending {
  op: WriteOp;
  origin: string | undefined;
  resolve: (result: WriteResult) => void;
  reject: (error: unknown) => void;
}

const MAX_BATCH = 1000;
/**
 * Two batches may be with the store at once: the next one waits, already sent, while the current
 * one commits, so the writer never idles while this thread publishes and acks the last one. The
 * store commits them in order, one transaction each, and their results come back in that order.
 */
const MAX_OUTSTANDING = 2;

/**
 * Group commit: one writer takes every op that arrived while the previous flush ran and commits
 * them in one transaction (one fsync). No timer: under light load a batch is one op and the latency
 * is one fsync; under load batches grow by themselves. `publish` runs after the commit and before
 * any caller hears of it, in commit order, so live delivery never precedes durability and never
 * reorders a conversation.
 */
export class GroupCommitter {
  private queue: Pending[] = [];
  /** Batches handed to the store and not yet finished (at most MAX_OUTSTANDING). */
  private outstanding = 0;
  private scheduled = false;
  private idle: Array<() => void> = [];

  constructor(
    private readonly store: LogStore,
    private readonly publish: (committed: Committed[]) => void,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly maxPending: number,
  ) {}

  /**
   * Queues an op for the next commit. Past `maxPending` queued ops the store is not keeping up:
   * the op is refused with a retryable `overloaded` instead of growing memory and latency.
   */
  submit(op: WriteOp, origin?: string): Promise<WriteResult> {
    if (this.queue.length >= this.maxPending) {
      return Promise.reject(new NatterError('overloaded', undefined, { retryAfterMs: 1000 }));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ op, origin, resolve, reject });
      this.schedule();
    });
  }

  /** Submits and returns the op's outcome, throwing its error if the store refused it. */
  async write(op: WriteOp, origin?: string): Promise<WriteOutcome> {
    const result = await this.submit(op, origin);
    if (!result.ok) throw result.error;
    return result.value;
  }

  /** Resolves once every op submitted so far is committed (or failed). */
  drained(): Promise<void> {
    if (this.outstanding === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private schedule(): void {
    if (this.outstanding >= MAX_OUTSTANDING || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.queue.splice(0, MAX_BATCH);
    if (batch.length === 0) return;
    this.outstanding += 1;
    if (this.queue.length > 0) this.schedule();
    const started = performance.now();
    let results: WriteResult[] | undefined;
    try {
      results = await this.store.commit(batch.map((p) => p.op));
    } catch (cause) {
      this.log.warn({ err: cause, ops: batch.length }, 'commit failed; the batch is refused as unavailable');
      const error = new NatterError('unavailable', undefined, { cause });
      for (const p of batch) p.reject(error);
    }
    this.outstanding -= 1;
    if (results) {
      this.metrics.commitSeconds.observe((performance.now() - started) / 1000);
      this.metrics.commitBatchSize.observe(batch.length);
      try {
        this.publish(batch.map((p, i) => ({ op: p.op, result: results[i]!, origin: p.origin })));
      } catch (error) {
        // Live delivery is best effort; the log and the heartbeat's change token heal what it misses.
        this.log.error({ err: error }, 'publish failed');
      }
      for (const [i, p] of batch.entries()) p.resolve(results[i]!);
    }
    if (this.queue.length > 0) this.schedule();
    else if (this.outstanding === 0) for (const resolve of this.idle.splice(0)) resolve();
  }
}
