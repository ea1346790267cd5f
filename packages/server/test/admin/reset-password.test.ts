import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCompiledCurrent, compiledTwin } from '../../src/compiled-twin.js';
import { reachablePostgres, useTestDatabase } from '../helpers/postgres.js';
import { REPO_ROOT } from '../helpers/process.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

const ADMIN_TS = fileURLToPath(new URL('../../src/admin.ts', import.meta.url));
const adminUrl = await reachablePostgres('the admin command tests on PostgreSQL');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real command, as an operator runs it, against the store named by `env`. */
async function admin(args: string[], env: Record<string, string>): Promise<Run> {
  assertCompiledCurrent([ADMIN_TS]);
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [compiledTwin(ADMIN_TS), ...args],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, NATTER_PASSWORD_HASH_COST: '10', ...env },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

function describeOn(store: 'sqlite' | 'postgres') {
  describe.skipIf(store === 'postgres' && adminUrl === null)(`natter-admin reset-password (${store})`, () => {
    const database = store === 'postgres' ? useTestDatabase(adminUrl) : null;
    let server: TestServer;
    let env: Record<string, string>;
    beforeAll(async () => {
      server = await startTestServer(database ? { store: 'postgres', databaseUrl: database.url } : {});
      env = database
        ? { NATTER_STORE: 'postgres', DATABASE_URL: database.url }
        : { NATTER_STORE: 'sqlite', NATTER_DATA_DIR: server.dataDir };
    });
    afterAll(async () => {
      await server?.dispose();
    });

    const login = (username: string, password: string) =>
      api<{ token: string }>(server.httpUrl, 'POST', '/v1/sessions', { body: { username, password } });

    it('sets a new password printed once, and revokes every session of the user', async () => {
      const username = `reset_${randomUUID().slice(0, 8)}`;
      const old = 'the old password';
      await api(server.httpUrl, 'POST', '/v1/accounts', { body: { username, password: old } });
      const sessions = [(await login(username, old)).body.token, (await login(username, old)).body.token];

      const run = await admin(['reset-password', username], env);
      expect(run.code, run.stderr).toBe(0);
      const password = /New password for \S+: (\S+)/.exec(run.stdout)?.[1];
      expect(password).toMatch(/^[\w-]{32}$/);
      expect(run.stdout).toContain('Revoked 2 sessions.');

      for (const token of sessions) {
        const me = await api<{ error: { code: string } }>(server.httpUrl, 'GET', '/v1/me', { token });
        expect(me.status).toBe(401);
        expect(me.body.error.code).toBe('token_expired');
      }
      expect((await login(username, old)).status).toBe(401);
      const fresh = await login(username, password!);
      expect(fresh.status).toBe(201);
      expect((await api(server.httpUrl, 'GET', '/v1/me', { token: fresh.body.token })).status).toBe(200);
    });

    it('says so when there is no such built-in account, and shows its usage when called wrong', async () => {
      const missing = await admin(['reset-password', `nobody_${randomUUID().slice(0, 8)}`], env);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/no built-in account named nobody_/);
      const usage = await admin(['reset-password'], env);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toMatch(/^Usage: natter-admin reset-password <username>/);
    });
  });
}

describeOn('sqlite');
describeOn('postgres');

describe('natter-admin api-key', () => {
  it('prints a key once and the settings entry that admits it to the server API', async () => {
    const run = await admin(['api-key', 'backend', 'users+messages'], {});
    expect(run.code, run.stderr).toBe(0);
    const key = /API key \(shown once\): (\S+)/.exec(run.stdout)?.[1];
    const entry = /NATTER_SERVER_API_KEYS: (\S+)/.exec(run.stdout)?.[1];
    expect(entry).toMatch(/^backend:users\+messages:[0-9a-f]{64}$/);
    const server = await startTestServer({ serverApiKeys: [entry!] });
    try {
      const body = { user_id: `u-${randomUUID().slice(0, 8)}` };
      expect((await api(server.httpUrl, 'POST', '/v1/server/users', { token: key!, body })).status).toBe(201);
    } finally {
      await server.dispose();
    }
  });

  it('refuses an unknown scope', async () => {
    const run = await admin(['api-key', 'backend', 'users+everything'], {});
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/unknown scope "everything"/);
  });
});
