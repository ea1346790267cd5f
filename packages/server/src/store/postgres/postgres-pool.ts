import type { Logger } from 'pino';
import type { Db, Tx } from './postgres-connection.js';
import { isConnectionFailure } from './postgres-errors.js';

/** Transactions of the stores, spelled out: never left to the database's defaults. */
export type TransactionMode = 'ISOLATION LEVEL READ COMMITTED' | 'ISOLATION LEVEL REPEATABLE READ READ ONLY';

/** Grace for queries still running on a pool being replaced, in seconds. */
const RETIRE_TIMEOUT_S = 1;

/**
 * Longest wait for a connection to run a transaction on. In postgres 3.4.9 a reserve() that is
 * queued while the database is unreachable can be handed, as the first query, to a connection that
 * is reconnecting; once it connects, the driver drops that query while it fetches array types, and
 * the reserve() promise never settles (found by test/faults/postgres-restart.test.ts: a node kept
 * one commit waiting for ever after a PostgreSQL restart, and as commits run one at a time, it
 * never acked another send nor drained). The pool itself is fine: the wait fails as unreachable.
 */
const RESERVE_TIMEOUT_MS = 5_000;

/**
 * Longest a transaction may take once its connection is reserved. The same driver fault can strike
 * a connection already reserved: a query issued while it reconnects is dropped and never settles
 * (found again by the fault pass: after an immediate PostgreSQL stop, about one run in nine left a
 * node's commit waiting for ever, so it acked nothing more and could not drain). Transactions here
 * take milliseconds; one that takes this long is treated as a lost connection.
 */
const TRANSACTION_TIMEOUT_MS = 15_000;

/**
 * The node's connection pool, and its transactions.
 *
 * Transactions run on a reserved connection with explicit BEGIN/COMMIT rather than the driver's
 * begin(): in postgres 3.4.9, a connection lost inside begin() makes the driver write ROLLBACK to
 * the dead socket, which throws from a timer and kills the process, and the dead connection can
 * be handed out again (porsager/postgres#1208, #1133, #1216). So a transaction whose connection
 * failed issues nothing more on it and never gives it back: the whole pool is replaced (a lost
 * connection usually means a restart or failover that broke every connection anyway), and the
 * old one is ended, its remaining queries failing as connection errors.
 */
export class PostgresPool {
  private db: Db;

  constructor(
    private readonly connect: () => Db,
    private readonly log: Logger,
  ) {
    this.db = connect();
  }

  /** For single statements, which the driver fails cleanly when their connection is lost. */
  get sql(): Db {
    return this.db;
  }

  /**
   * Runs `work` in one transaction. Resolves after COMMIT returned (durable); rejects with the
   * failure otherwise, after rolling back when the connection still works. A COMMIT whose
   * connection broke may have committed: the caller reports it, and never retries it blindly.
   * A transaction still running after `timeoutMs` counts as a lost connection: the pool is
   * replaced, which closes its connection, so PostgreSQL rolls it back unless its COMMIT was
   * already on the wire (then it committed, as with any lost connection; clients' retries are
   * idempotent, and the ping's change token brings the events to readers).
   */
  async transaction<T>(
    mode: TransactionMode,
    work: (tx: Tx) => Promise<T>,
    timeoutMs: number = TRANSACTION_TIMEOUT_MS,
  ): Promise<T> {
    const db = this.db;
    // A reservation that never comes fails this request only: under load (every connection busy)
    // a long wait is normal, and replacing the pool would fail everything under way.
    const tx = await within(db.reserve(), RESERVE_TIMEOUT_MS, (late) => late.release());
    let reusable = true;
    try {
      const run = async () => {
        // BEGIN goes out with the work's first statements, without a round trip of its own.
        const begun = tx.unsafe(`BEGIN ${mode}`).execute();
        begun.catch(() => {});
        const result = await work(tx);
        await begun;
        // COMMIT of a transaction a statement failed in rolls back instead, without an error: a
        // caller may have sent its last statements ahead without awaiting them (see
        // PostgresLogWriter.commit), so the outcome is read from the command PostgreSQL reports.
        const committed = await tx`COMMIT`;
        if (committed.command !== 'COMMIT') throw new RolledBack();
        return result;
      };
      return await within(run(), timeoutMs);
    } catch (error) {
      reusable = !isConnectionFailure(error) && (await rollback(tx));
      if (!reusable) this.replace(db, error);
      throw error;
    } finally {
      if (reusable) tx.release();
    }
  }

  end(): Promise<void> {
    return this.db.end({ timeout: 5 });
  }

  private replace(failed: Db, error: unknown): void {
    if (failed !== this.db) return;
    this.log.warn({ err: error }, 'PostgreSQL connection lost in a transaction; replacing the pool');
    this.db = this.connect();
    failed.end({ timeout: RETIRE_TIMEOUT_S }).catch(() => {});
  }
}

/** COMMIT answered ROLLBACK: a statement of the transaction failed, so nothing of it was stored. */
export class RolledBack extends Error {
  constructor() {
    super('A statement of the transaction failed; COMMIT rolled it back.');
  }
}

/** The driver did not answer in time: counted as a connection failure (retryable; probed). */
class NoAnswer extends Error {
  readonly code = 'CONNECT_TIMEOUT';
}

/**
 * What `pending` settles to, or NoAnswer after `timeoutMs`; a value that arrives after all goes to
 * `late`.
 */
async function within<T>(pending: Promise<T>, timeoutMs: number, late?: (value: T) => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new NoAnswer(`PostgreSQL did not answer within ${timeoutMs} ms.`));
    }, timeoutMs);
  });
  pending.then(
    (value) => {
      if (timedOut) late?.(value);
    },
    () => {},
  );
  try {
    return await Promise.race([pending, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** True when the connection rolled back and can serve again. */
async function rollback(tx: Tx): Promise<boolean> {
  try {
    await tx`ROLLBACK`;
    return true;
  } catch {
    return false;
  }
}
