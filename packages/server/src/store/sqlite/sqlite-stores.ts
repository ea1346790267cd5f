import type { Logger } from 'pino';
import { type Clock, systemClock } from '../../clock.js';
import { SqliteAccountStore } from './sqlite-account-store.js';
import { openSqlite } from './sqlite-database.js';
import { SqliteLogStore } from './sqlite-log-store.js';
import { SqliteMessageSearch } from './sqlite-message-search.js';
import { SqlitePushStore } from './sqlite-push-store.js';
import { SqliteWebhookStore } from './sqlite-webhook-store.js';
import { SqliteWriterClient } from './sqlite-writer-client.js';

export interface SqliteStores {
  logStore: SqliteLogStore;
  accountStore: SqliteAccountStore;
  messageSearch: SqliteMessageSearch;
  pushStore: SqlitePushStore;
  webhookStore: SqliteWebhookStore;
  /** False while the writer thread is down (being restarted): not ready for traffic. */
  healthy(): boolean;
  /** Resolves once the writer thread has opened the database. */
  whenReady(): Promise<void>;
  /** Stops the search thread and the writer thread (after its pending writes), and closes the database. */
  close(): Promise<void>;
}

/**
 * The embedded stores over one database file: reads on this thread's connection, searches on the
 * search thread's (read-only), every write on the writer thread's. The schema is migrated here
 * before either thread opens the file. `clock` stamps the events' times and times the searches'
 * deadlines.
 */
export function openSqliteStores(
  dataDir: string,
  log: Logger,
  checkpointPages = 10_000,
  clock: Clock = systemClock,
): SqliteStores {
  const db = openSqlite(dataDir);
  const writer = new SqliteWriterClient({ dataDir, checkpointPages }, log, clock);
  const logStore = new SqliteLogStore(db, writer);
  const messageSearch = new SqliteMessageSearch({ dataDir, log, clock, indexed: () => writer.indexed() });
  return {
    logStore,
    accountStore: new SqliteAccountStore(db, writer),
    pushStore: new SqlitePushStore(db, writer),
    webhookStore: new SqliteWebhookStore(db, writer),
    messageSearch,
    healthy: () => writer.healthy,
    whenReady: () => writer.whenReady(),
    async close() {
      await messageSearch.close();
      await logStore.close();
    },
  };
}
