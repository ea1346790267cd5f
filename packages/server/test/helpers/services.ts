import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { freePort } from './free-port.js';

/**
 * The fault pass's own PostgreSQL and Redis: a throwaway PostgreSQL cluster (`initdb` into a temp
 * dir) and a `redis-server`, each on a free port of 127.0.0.1, made before the pass and removed
 * after it (faults/global-setup.ts). The fault tests stop and start exactly these, so a developer's
 * services (5432, 6379) are never touched. Everything here is plain data, so that the test workers
 * can restart what the global setup made.
 */

const run = promisify(execFile);

export interface ThrowawayPostgres {
  /** Where initdb and pg_ctl are (`pg_config --bindir`, or /usr/lib/postgresql/<newest>/bin). */
  bindir: string;
  dataDir: string;
  logFile: string;
  port: number;
  /** The superuser's URL (trust auth), to create test databases from. */
  url: string;
  /** PostgreSQL refuses to run as root: when the tests do, its commands run as this user. */
  runAs: string | null;
}

export interface ThrowawayRedis {
  dir: string;
  port: number;
  url: string;
}

export interface ThrowawayServices {
  /** The temp dir holding both; removed with everything in it. */
  root: string;
  postgres: ThrowawayPostgres;
  redis: ThrowawayRedis;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by faults/global-setup.ts: the services, or why they could not be made here. */
    faultServices: ThrowawayServices | { unavailable: string };
  }
}

/** The system user PostgreSQL runs as when the tests run as root (Debian's package creates it). */
const POSTGRES_USER = 'postgres';

async function commandExists(command: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
}

const hasServerBinaries = (dir: string) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'));

/** The directory of initdb and pg_ctl: `pg_config --bindir`, else Debian's newest version, else PATH. */
async function postgresBindir(): Promise<string | null> {
  const candidates: string[] = [];
  try {
    candidates.push((await run('pg_config', ['--bindir'])).stdout.trim());
  } catch {
    // no pg_config (it comes with libpq-dev or postgresql-common)
  }
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => join(debian, version, 'bin')));
  }
  try {
    const initdb = (await run('sh', ['-c', 'command -v initdb'])).stdout.trim();
    candidates.push(initdb.slice(0, initdb.lastIndexOf('/')));
  } catch {
    // not on PATH
  }
  return candidates.find(hasServerBinaries) ?? null;
}

async function uidAndGid(user: string): Promise<{ uid: number; gid: number } | null> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', user]), run('id', ['-g', user])]);
    return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
  } catch {
    return null;
  }
}

/**
 * Makes both services. Throws saying what is missing (PostgreSQL's server binaries, redis-server,
 * or, as root, runuser and the postgres user), so that the caller can skip or fail.
 */
export async function createThrowawayServices(): Promise<ThrowawayServices> {
  const bindir = await postgresBindir();
  if (bindir === null) throw new Error('PostgreSQL server binaries (initdb, pg_ctl) are not installed');
  for (const command of ['redis-server', 'redis-cli'])
    if (!(await commandExists(command))) throw new Error(`${command} is not installed`);
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? await uidAndGid(POSTGRES_USER) : null;
  if (asRoot && owner === null) throw new Error(`running as root, and there is no ${POSTGRES_USER} user`);
  if (asRoot && !(await commandExists('runuser'))) throw new Error('running as root, and runuser is missing');

  const root = await mkdtemp(join(tmpdir(), 'natter-faults-'));
  try {
    if (owner) await chown(root, owner.uid, owner.gid);
    const [postgresPort, redisPort] = [await freePort(), await freePort()];
    const services: ThrowawayServices = {
      root,
      postgres: {
        bindir,
        dataDir: join(root, 'postgres'),
        logFile: join(root, 'postgres.log'),
        port: postgresPort,
        url: `postgres://postgres@127.0.0.1:${postgresPort}/postgres`,
        runAs: asRoot ? POSTGRES_USER : null,
      },
      redis: { dir: join(root, 'redis'), port: redisPort, url: `redis://127.0.0.1:${redisPort}` },
    };
    const pg = services.postgres;
    await asPostgresOwner(pg, 'initdb', [
      ...['-D', pg.dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C'],
      '--no-sync',
    ]);
    // TCP on 127.0.0.1 only: no socket in the machine's /var/run/postgresql.
    await appendFile(
      join(pg.dataDir, 'postgresql.conf'),
      `\nport = ${pg.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n`,
    );
    await mkdir(services.redis.dir);
    await startPostgres(pg);
    await startRedis(services.redis);
    return services;
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

/** Stops both services, whatever state they are in, and deletes their files. */
export async function removeThrowawayServices(services: ThrowawayServices): Promise<void> {
  await stopPostgres(services.postgres).catch(() => {});
  await stopRedis(services.redis).catch(() => {});
  await rm(services.root, { recursive: true, force: true });
}

function asPostgresOwner(pg: ThrowawayPostgres, command: string, args: string[]) {
  const binary = join(pg.bindir, command);
  // From the services' own dir: the postgres user may not be allowed into the caller's.
  const options = { timeout: 60_000, cwd: dirname(pg.dataDir) };
  return pg.runAs === null
    ? run(binary, args, options)
    : run('runuser', ['-u', pg.runAs, '--', binary, ...args], options);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

export async function redisAnswers(redis: ThrowawayRedis): Promise<boolean> {
  try {
    const { stdout } = await run('redis-cli', ['-p', String(redis.port), 'ping'], { timeout: 2_000 });
    return stdout.trim() === 'PONG';
  } catch {
    return false;
  }
}

/** `SHUTDOWN NOSAVE`: Redis goes away with every key, as a crash would. */
export async function stopRedis(redis: ThrowawayRedis): Promise<void> {
  // redis-cli reports the connection closing under it as an error: the shutdown is what it looks like.
  await run('redis-cli', ['-p', String(redis.port), 'shutdown', 'nosave'], { timeout: 5_000 }).catch(
    () => {},
  );
  await waitFor('Redis did not stop', async () => !(await redisAnswers(redis)), 5_000);
}

/** Starts Redis on its port, empty and without persistence, and waits until it answers. */
export async function startRedis(redis: ThrowawayRedis): Promise<void> {
  await run(
    'redis-server',
    [
      ...['--port', String(redis.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      ...['--daemonize', 'yes', '--dir', redis.dir, '--logfile', join(redis.dir, 'redis.log')],
      ...['--pidfile', join(redis.dir, 'redis.pid')],
    ],
    { timeout: 5_000 },
  );
  await waitFor('Redis did not answer', () => redisAnswers(redis), 10_000);
}

export async function postgresAnswers(pg: ThrowawayPostgres): Promise<boolean> {
  const probe = postgres(pg.url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await probe`SELECT 1`;
    return true;
  } catch {
    return false;
  } finally {
    await probe.end({ timeout: 1 }).catch(() => {});
  }
}

/** An immediate shutdown: every session is cut and nothing is flushed, as in a crash. */
export async function stopPostgres(pg: ThrowawayPostgres): Promise<void> {
  await asPostgresOwner(pg, 'pg_ctl', ['-D', pg.dataDir, '-m', 'immediate', '-w', 'stop']);
}

/** Starts PostgreSQL (recovering after an immediate stop) and waits until it takes queries. */
export async function startPostgres(pg: ThrowawayPostgres): Promise<void> {
  await asPostgresOwner(pg, 'pg_ctl', ['-D', pg.dataDir, '-l', pg.logFile, '-w', '-t', '30', 'start']);
  await waitFor('PostgreSQL did not answer', () => postgresAnswers(pg), 20_000);
}

/** Starts whichever of the two is down (for afterAll, whatever a test did). */
export async function ensureRunning(services: ThrowawayServices): Promise<void> {
  if (!(await redisAnswers(services.redis))) await startRedis(services.redis);
  if (!(await postgresAnswers(services.postgres))) await startPostgres(services.postgres);
}
