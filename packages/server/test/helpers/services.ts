import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import postgres from 'postgres';

/**
 * Stopping and starting the machine's shared PostgreSQL and Redis, for the fault tests
 * (packages/server/test/faults). Every restart happens while this process holds an exclusive
 * flock on SERVICES_LOCK, which other users of the same services (a benchmark) take too, so that
 * nobody has a service pulled from under them; the lock is held for one restart window at a time.
 */

const run = promisify(execFile);

export const SERVICES_LOCK = '/tmp/natter-services.lock';
/**
 * Longest we wait for the lock: a benchmark may hold it for minutes on a developer machine; in CI
 * nothing else takes it, so a long wait there means a stuck lock, better reported soon.
 */
const LOCK_WAIT_S = process.env.CI === 'true' ? 60 : 420;

/** The PostgreSQL cluster the tests restart: the local one (Debian's pg_ctlcluster naming). */
const PG_VERSION = process.env.NATTER_TEST_PG_VERSION ?? '15';
const PG_CLUSTER = process.env.NATTER_TEST_PG_CLUSTER ?? 'main';
const REDIS_PORT = '6379';
const REDIS_START = [
  '--daemonize',
  'yes',
  '--bind',
  '127.0.0.1',
  '-::1',
  '--port',
  REDIS_PORT,
  '--save',
  '',
  '--appendonly',
  'no',
  '--dir',
  '/var/lib/redis',
  '--logfile',
  '/var/log/redis/ci.log',
];

async function commandExists(command: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether this machine lets the tests restart its services (flock, redis-cli, redis-server,
 * pg_ctlcluster, and the services on their default local ports). Null when it does; else why not,
 * for the caller's loud skip (or failure under CI).
 */
export async function whyServicesCannotRestart(): Promise<string | null> {
  for (const command of ['flock', 'redis-cli', 'redis-server', 'pg_ctlcluster'])
    if (!(await commandExists(command))) return `${command} is not installed`;
  if (process.env.NATTER_TEST_REDIS_URL !== undefined || process.env.NATTER_TEST_POSTGRES_URL !== undefined)
    return 'NATTER_TEST_REDIS_URL or NATTER_TEST_POSTGRES_URL points the tests at a service they cannot restart';
  return null;
}

/** An exclusive hold on SERVICES_LOCK, by a child `flock` process, until `release()`. */
export interface ServicesLock {
  /** How long the lock took to get (someone else held it). */
  waitedMs: number;
  release(): Promise<void>;
}

/**
 * Takes the services lock through a child `flock` that holds it until its stdin closes, so the lock
 * goes with this process if it dies. Restarts made while holding it must not call `flock` again.
 */
export async function holdServicesLock(): Promise<ServicesLock> {
  const started = Date.now();
  const child: ChildProcess = spawn(
    'flock',
    ['-w', String(LOCK_WAIT_S), SERVICES_LOCK, 'sh', '-c', 'echo held; exec cat >/dev/null'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const held = await new Promise<boolean>((resolve) => {
    child.stdout?.once('data', () => resolve(true));
    void exited.then(() => resolve(false));
  });
  if (!held) throw new Error(`could not take ${SERVICES_LOCK} within ${LOCK_WAIT_S} s`);
  return {
    waitedMs: Date.now() - started,
    async release() {
      child.stdin?.end();
      await exited;
    },
  };
}

/** Runs `work` holding the services lock, and releases it however `work` ends. */
export async function withServicesLock<T>(work: (lock: ServicesLock) => Promise<T>): Promise<T> {
  const lock = await holdServicesLock();
  try {
    return await work(lock);
  } finally {
    await lock.release();
  }
}

export async function redisAnswers(): Promise<boolean> {
  try {
    const { stdout } = await run('redis-cli', ['-p', REDIS_PORT, 'ping'], { timeout: 2_000 });
    return stdout.trim() === 'PONG';
  } catch {
    return false;
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Call holding the lock. `SHUTDOWN NOSAVE`: Redis goes away with every key, as a crash would. */
export async function stopRedis(): Promise<void> {
  // redis-cli reports the connection closing under it as an error: the shutdown is what it looks like.
  await run('redis-cli', ['-p', REDIS_PORT, 'shutdown', 'nosave'], { timeout: 5_000 }).catch(() => {});
  await waitFor('Redis did not stop', async () => !(await redisAnswers()), 5_000);
}

/** Call holding the lock. Starts Redis as CI does and waits until it answers. */
export async function startRedis(): Promise<void> {
  await run('redis-server', REDIS_START, { timeout: 5_000 });
  await waitFor('Redis did not answer', redisAnswers, 10_000);
}

export async function postgresAnswers(): Promise<boolean> {
  for (const user of ['postgres', 'root']) {
    const probe = postgres(`postgres://${user}@127.0.0.1:5432/postgres`, {
      max: 1,
      connect_timeout: 2,
      onnotice: () => {},
    });
    try {
      await probe`SELECT 1`;
      return true;
    } catch {
      // next user, or down
    } finally {
      await probe.end({ timeout: 1 }).catch(() => {});
    }
  }
  return false;
}

function pgCtl(action: 'start' | 'stop' | 'restart'): Promise<unknown> {
  return run('pg_ctlcluster', ['--skip-systemctl-redirect', PG_VERSION, PG_CLUSTER, action], {
    timeout: 30_000,
  });
}

/** Call holding the lock. A fast shutdown: every session is terminated, as in a failover. */
export async function stopPostgres(): Promise<void> {
  await pgCtl('stop');
}

/** Call holding the lock. Starts PostgreSQL and waits until it takes queries. */
export async function startPostgres(): Promise<void> {
  await pgCtl('start');
  await waitFor('PostgreSQL did not answer', postgresAnswers, 20_000);
}

/**
 * For afterAll: whatever a test did, PostgreSQL and Redis are running when it returns. Takes the lock
 * to start one that is down (or starts it anyway if the lock cannot be had: a stopped service
 * disturbs everyone more than a start does).
 */
export async function ensureServicesRunning(): Promise<void> {
  const down = async () => !(await redisAnswers()) || !(await postgresAnswers());
  if (!(await down())) return;
  const start = async () => {
    if (!(await redisAnswers())) await startRedis();
    if (!(await postgresAnswers())) await startPostgres();
  };
  let lock: ServicesLock | undefined;
  try {
    lock = await holdServicesLock();
  } catch (error) {
    console.warn(`starting the services without the lock: ${String(error)}`);
  }
  try {
    await start();
  } finally {
    await lock?.release();
  }
}
