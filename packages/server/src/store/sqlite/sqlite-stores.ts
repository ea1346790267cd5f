import { SqliteAccountStore } from './sqlite-account-store.js';
import { openSqlite } from './sqlite-database.js';
import { SqliteLogStore } from './sqlite-log-store.js';
import { SqliteWriterClient } from './sqlite-writer-client.js';

export interface SqliteStores {
  logStore: SqliteLogStore;
  accountStore: SqliteAccountStore;
  /** Stops the writer thread (after its pending writes) and closes the database. */
  close(): Promise<void>;
}

/**
 * The embedded stores over one database file: reads on this thread's connection, every write on
 * the writer thread's. The schema is migrated here before the writer thread opens the file.
 */
export function openSqliteStores(dataDir: string): SqliteStores {
  const db = openSqlite(dataDir);
  const writer = new SqliteWriterClient(dataDir);
  const logStore = new SqliteLogStore(db, writer);
  return { logStore, accountStore: new SqliteAccountStore(db, writer), close: () => logStore.close() };
}
