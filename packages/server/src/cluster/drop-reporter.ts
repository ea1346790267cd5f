import type { Logger } from 'pino';
import type { Counter } from 'prom-client';

/** Why a bus message or a backend write was given up (each heals: change token, next beat, refresh). */
export type DropReason =
  | 'disconnected'
  | 'backlog'
  | 'error'
  | 'no_subscriber'
  | 'lookup_failed'
  | 'malformed'
  | 'handler_failed';

const LOG_INTERVAL_MS = 5_000;

/**
 * Counts every drop and logs them at most once per few seconds per reason: while Redis is down a
 * busy node drops thousands of messages a second, and one line per drop would bury the log.
 */
export class DropReporter {
  private readonly lastLogged = new Map<DropReason, { at: number; unlogged: number }>();

  constructor(
    private readonly counter: Counter<'reason'>,
    private readonly log: Logger,
    private readonly what: string,
  ) {}

  drop(reason: DropReason, error?: unknown): void {
    this.counter.inc({ reason });
    const now = Date.now();
    const seen = this.lastLogged.get(reason);
    if (seen && now - seen.at < LOG_INTERVAL_MS) {
      seen.unlogged += 1;
      return;
    }
    this.log.warn(
      { err: error, reason, droppedSinceLastLog: seen?.unlogged ?? 0 },
      `${this.what} dropped (${reason})`,
    );
    this.lastLogged.set(reason, { at: now, unlogged: 0 });
  }
}
