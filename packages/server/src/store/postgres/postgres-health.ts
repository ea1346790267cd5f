import type { Logger } from 'pino';
import { isConnectionFailure, toStoreError } from './postgres-errors.js';
import type { PostgresPool } from './postgres-pool.js';

/** Runs a store call once the schema is ready, mapping its failure to what callers should hear. */
export type Guarded = <T>(call: () => Promise<T>) => Promise<T>;

const PROBE_INTERVAL_MS = 1000;

/**
 * Whether this node can reach its database. It turns unhealthy when a call fails for want of a
 * connection (readiness then reports false, and the load balancer sends clients elsewhere) and
 * healthy again once a probe (or any call) succeeds: the driver reconnects by itself, this only
 * notices it.
 */
export class PostgresHealth {
  private up = false;
  private probe: NodeJS.Timeout | null = null;

  constructor(
    private readonly pool: PostgresPool,
    private readonly ready: Promise<void>,
    private readonly log: Logger,
  ) {
    ready.then(
      () => {
        this.up = true;
      },
      () => {},
    );
  }

  get healthy(): boolean {
    return this.up;
  }

  readonly guard: Guarded = async (call) => {
    await this.ready;
    try {
      const result = await call();
      this.up = true;
      return result;
    } catch (error) {
      if (isConnectionFailure(error)) this.lost(error);
      throw toStoreError(error);
    }
  };

  stop(): void {
    if (this.probe) clearInterval(this.probe);
    this.probe = null;
  }

  private lost(error: unknown): void {
    this.up = false;
    if (this.probe) return;
    this.log.warn({ err: error }, 'PostgreSQL connection lost; probing until it is back');
    this.probe = setInterval(() => {
      this.pool.sql`SELECT 1`.then(
        () => {
          this.stop();
          this.up = true;
          this.log.info('PostgreSQL connection is back');
        },
        () => {},
      );
    }, PROBE_INTERVAL_MS);
    this.probe.unref();
  }
}
