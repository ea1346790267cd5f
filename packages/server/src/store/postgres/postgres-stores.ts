import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import { PostgresAccountStore } from './postgres-account-store.js';
import { connectPostgres, type PostgresPoolOptions } from './postgres-connection.js';
import { isConnectionFailure } from './postgres-errors.js';
import { PostgresHealth } from './postgres-health.js';
import { PostgresLogReader } from './postgres-log-reader.js';
import { PostgresLogStore } from './postgres-log-store.js';
import { PostgresLogWriter } from './postgres-log-writer.js';
import { PostgresMessageSearch } from './postgres-message-search.js';
import { migrate } from './postgres-migrations.js';
import { PostgresPool } from './postgres-pool.js';
import { PostgresPushStore } from './postgres-push-store.js';
import { PostgresWebhookStore } from './postgres-webhook-store.js';

export interface PostgresStores {
  logStore: PostgresLogStore;
  accountStore: PostgresAccountStore;
  messageSearch: PostgresMessageSearch;
  pushStore: PostgresPushStore;
  webhookStore: PostgresWebhookStore;
  /** False until the schema is migrated, and while the database cannot be reached. */
  healthy(): boolean;
  /** Resolves once the schema is migrated (waiting for the database to be reachable if need be). */
  whenReady(): Promise<void>;
  /** Waits for commits under way, then closes the pool. */
  close(): Promise<void>;
}

const MIGRATE_RETRY_MS = 1000;

/**
 * The cluster stores over one PostgreSQL database, shared by every node. The schema is migrated
 * on start (safe when several nodes start at once); a node that starts before its database is
 * reachable keeps trying and is not ready meanwhile.
 */
export function openPostgresStores(
  databaseUrl: string,
  log: Logger,
  options: PostgresPoolOptions & {
    searchLanguage?: string;
    searchWalkAboveMatches?: number;
    /** Stamps the events' times (the system clock by default). */
    clock?: Clock;
  } = {},
): PostgresStores {
  const pool = new PostgresPool(() => connectPostgres(databaseUrl, options), log);
  // The log's commits have connections of their own: under a crowd of reads (thousands of clients
  // reconnecting, each authenticating and syncing) a commit queued behind them for the shared pool
  // waited past its 5 s reservation limit, and sends failed while reads went on. A node commits one
  // batch at a time, so one connection does; the second covers a pool being replaced.
  const commitPool = new PostgresPool(() => connectPostgres(databaseUrl, { maxConnections: 2 }), log);
  const closing = new AbortController();
  const searchLanguage = options.searchLanguage ?? 'simple';
  const ready = migrateWhenReachable(pool, searchLanguage, log, closing.signal);
  const health = new PostgresHealth(pool, ready, log);
  const logStore = new PostgresLogStore(
    pool,
    new PostgresLogWriter(commitPool, options.clock),
    new PostgresLogReader(),
    health.guard,
  );
  return {
    logStore,
    accountStore: new PostgresAccountStore(pool, health.guard),
    pushStore: new PostgresPushStore(pool, health.guard),
    webhookStore: new PostgresWebhookStore(pool, health.guard),
    messageSearch: new PostgresMessageSearch(
      pool,
      health.guard,
      searchLanguage,
      options.searchWalkAboveMatches,
    ),
    healthy: () => health.healthy,
    whenReady: () => ready,
    async close() {
      closing.abort();
      health.stop();
      await logStore.close();
      await commitPool.end();
    },
  };
}

async function migrateWhenReachable(
  pool: PostgresPool,
  searchLanguage: string,
  log: Logger,
  closing: AbortSignal,
): Promise<void> {
  for (;;) {
    try {
      await migrate(pool, searchLanguage);
      return;
    } catch (error) {
      if (!isConnectionFailure(error) || closing.aborted) throw error;
      log.warn({ err: error }, 'PostgreSQL is not reachable; retrying the schema migration');
    }
    await sleep(MIGRATE_RETRY_MS, undefined, { signal: closing }).catch(() => {});
    if (closing.aborted) throw new Error('The stores were closed before PostgreSQL became reachable.');
  }
}
