import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { PushStore } from '../push/push-store.js';
import type { AccountStore } from '../store/account-store.js';
import type { LogStore } from '../store/log-store.js';
import type { MessageSearch } from '../store/message-search.js';
import { openPostgresStores } from '../store/postgres/postgres-stores.js';
import { openSqliteStores } from '../store/sqlite/sqlite-stores.js';
import type { WebhookStore } from '../webhooks/webhook-store.js';

/** The durable stores as the wiring needs them, whichever adapter holds them. */
export interface Stores {
  logStore: LogStore;
  accountStore: AccountStore;
  messageSearch: MessageSearch;
  pushStore: PushStore;
  webhookStore: WebhookStore;
  /** False while the store cannot take traffic (writer thread restarting, database unreachable). */
  healthy(): boolean;
  /** Resolves once the store is usable (schema migrated). */
  whenReady(): Promise<void>;
  /** Finishes the writes under way, then closes. */
  close(): Promise<void>;
}

/**
 * SQLite in NATTER_DATA_DIR (the embedded default), or the PostgreSQL database every node shares.
 * `clock` stamps the events' times, and times SQLite's search deadlines (PostgreSQL keeps its own
 * statement_timeout).
 */
export function openStores(config: Config, log: Logger, clock: Clock): Stores {
  if (config.store === 'sqlite') {
    return openSqliteStores(config.dataDir, log, config.walCheckpointPages, clock);
  }
  // resolveConfig refuses postgres without a URL; this narrows the type.
  if (config.databaseUrl === undefined) throw new Error('NATTER_STORE=postgres needs DATABASE_URL.');
  return openPostgresStores(config.databaseUrl, log, {
    maxConnections: config.databasePoolSize,
    searchLanguage: config.searchLanguage,
    clock,
  });
}
