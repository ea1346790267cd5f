import type { Logger } from 'pino';
import { SqliteAccountStore } from './sqlite-account-store.js';
import { openSqlite } from './sqlite-database.js';
import { SqliteLogStore } from './sqlite-log-store.js';
import { SqliteMessageSearch } from './sqlite-message-search.js';
import { SqliteWriterClient } from './sqlite-writer-client.js';

export interface SqliteStores {
  logStore: SqliteLogStore;
  accountStore: SqliteAccountStore;
  messageSearch: SqliteMessageSearch;
  /** False while the writer thread is down (being restarted): not ready for traffic. */
  healthy(): boolean;
  /** Resolves once the writer thread has opened the database. */
  whenReady(): Promise<void>;
  /** Stops the writer thread (after its pending writes) and closes the database. */
  close(): Promise<void>;
}

/**
 * The embedded stores over one database file: reads on this thread's connection, every write on
 * the writer thread's. The schema is migrated here before the writer thread opens the file.
 */
export function openSqliteStores(dataDir: string, log: Logger, checkpointPages = 10_000): SqliteStores {
  const db = openSqlite(dataDir);
  const writer = new SqliteWriterClient({ dataDir, checkpointPages }, log);
  const logStore = new SqliteLogStore(db, writer);
  return {
    logStore,
    accountStore: new SqliteAccountStore(db, writer),
    messageSearch: new SqliteMessageSearch(db),
    healthy: () => writer.healthy,
    whenReady: () => writer.whenReady(),
    close: () => logStore.close(),
  };
}
