import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll } from 'vitest';

/**
 * PostgreSQL for tests: the local server (127.0.0.1:5432, trust auth) unless
 * NATTER_TEST_POSTGRES_URL names another. Each test file (or describe block) gets a database of its
 * own and drops it after.
 */
const CANDIDATE_URLS = process.env.NATTER_TEST_POSTGRES_URL
  ? [process.env.NATTER_TEST_POSTGRES_URL]
  : ['postgres://postgres@127.0.0.1:5432/test', 'postgres://root@127.0.0.1:5432/test'];

async function reachable(url: string): Promise<boolean> {
  const probe = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await probe`SELECT 1`;
    return true;
  } catch {
    return false;
  } finally {
    await probe.end({ timeout: 1 });
  }
}

/**
 * The URL of a reachable PostgreSQL to create test databases from, or null. Null only on a
 * developer machine, after a loud warning, so the caller can skip; under CI=true an unreachable
 * PostgreSQL throws, which fails the test file: CI never skips these tests.
 */
export async function reachablePostgres(what: string): Promise<string | null> {
  for (const url of CANDIDATE_URLS) if (await reachable(url)) return url;
  const tried = CANDIDATE_URLS.map((u) => u.replace(/\/\/[^@]*@/, '//')).join(', ');
  const message = `PostgreSQL is not reachable (tried ${tried}): ${what} cannot run.`;
  if (process.env.CI === 'true') throw new Error(`${message} CI must not skip them.`);
  console.warn(
    `\n${'!'.repeat(100)}\n!!! ${message}\n!!! SKIPPING them. Start PostgreSQL or set NATTER_TEST_POSTGRES_URL.\n${'!'.repeat(100)}\n`,
  );
  return null;
}

export interface TestDatabase {
  /** The database's URL, once it exists: inside tests and their hooks. */
  readonly url: string;
}

/**
 * Call inside a describe block that is skipped when `adminUrl` is null (see reachablePostgres):
 * a new, empty database (natter_test_<random>) is created before the block's tests and dropped
 * after them, connections and all.
 */
export function useTestDatabase(adminUrl: string | null): TestDatabase {
  const name = `natter_test_${randomBytes(6).toString('hex')}`;
  let url: string | null = null;
  const admin = async (statement: string) => {
    if (adminUrl === null) throw new Error('No reachable PostgreSQL: this block should have been skipped.');
    const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(statement);
    } finally {
      await sql.end();
    }
    return new URL(adminUrl);
  };
  beforeAll(async () => {
    const created = await admin(`CREATE DATABASE ${name}`);
    created.pathname = `/${name}`;
    url = created.toString();
  });
  afterAll(async () => {
    if (url !== null) await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
  return {
    get url() {
      if (url === null) throw new Error('The test database exists only inside its tests.');
      return url;
    },
  };
}
