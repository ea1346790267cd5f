import postgres from 'postgres';

/**
 * int8 columns (seqs, positions, ms timestamps) come back as JS numbers: every value Natter stores
 * stays far below 2^53, and the ports speak numbers. The driver's default would be strings.
 */
const int8AsNumber: postgres.PostgresType<number> = {
  to: 20,
  from: [20],
  serialize: (value: number) => String(value),
  parse: (raw: string) => Number(raw),
};

type Types = { int8: number };
export type Db = postgres.Sql<Types>;
/** A connection reserved for one transaction (see PostgresPool.transaction). */
export type Tx = postgres.ReservedSql<Types>;
/** A pool or a reserved connection: what a query needs to run. */
export type Queryable = postgres.ISql<Types>;

export interface PostgresPoolOptions {
  /** Connections in this node's pool (default 10). */
  maxConnections?: number;
}

/**
 * A driver pool. synchronous_commit=on is PostgreSQL's default, but a database or role setting
 * can change it; it is set explicitly per session because "acked means stored" depends on it:
 * COMMIT returns only once the commit record is flushed to disk. The driver reconnects by itself
 * and never retries a query it sent, so a failed commit is reported, not repeated.
 */
export function connectPostgres(databaseUrl: string, options: PostgresPoolOptions = {}): Db {
  return postgres(databaseUrl, {
    max: options.maxConnections ?? 10,
    types: { int8: int8AsNumber },
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: 'natter', synchronous_commit: 'on' },
  });
}
