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
   */
  async transaction<T>(mode: TransactionMode, work: (tx: Tx) => Promise<T>): Promise<T> {
    const db = this.db;
    const tx = await reserveWithin(db, RESERVE_TIMEOUT_MS);
    let reusable = true;
    try {
      await tx.unsafe(`BEGIN ${mode}`);
      const result = await work(tx);
      await tx`COMMIT`;
      return result;
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

/**
 * A reserved connection, or a CONNECT_TIMEOUT error (a connection failure: retryable, and the
 * health probe takes over) after `timeoutMs`. A reservation that arrives after all is released.
 */
async function reserveWithin(db: Db, timeoutMs: number): Promise<Tx> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const reserving = db.reserve();
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(
        Object.assign(new Error('No PostgreSQL connection could be reserved in time.'), {
          code: 'CONNECT_TIMEOUT',
        }),
      );
    }, timeoutMs);
  });
  reserving.then(
    (late) => {
      if (timedOut) late.release();
    },
    () => {},
  );
  try {
    return await Promise.race([reserving, timeout]);
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
