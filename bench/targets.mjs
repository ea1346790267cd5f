// Processes under test (Natter, the Socket.IO relay) and the driver processes: start, readiness, /proc
// sampling, metrics, fixtures (JWTs, direct conversations), stop. Everything binds to 127.0.0.1.
import { fork, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';

export const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
/**
 * Node flags for every server under test, Natter and the relay alike: the young generation that
 * docs/operations.md recommends for Natter (a server keeps each request's objects alive across a
 * commit, so a small nursery promotes them and pays for old-generation GC).
 */
export const SERVER_NODE_ARGS = ['--max-semi-space-size=32'];

/** The Natter entry point; BENCH_NATTER_MAIN points the bench at another build. */
export const NATTER_MAIN = process.env.BENCH_NATTER_MAIN ?? join(ROOT, 'packages/server/dist/main.js');
const RELAY_MAIN = join(ROOT, 'bench/socketio-relay.mjs');
const HOST = '127.0.0.1';
const CLK_TCK = 100; // USER_HZ on Linux

/** Settings that keep Natter's per-user / per-connection rate limits out of the measurement. */
const UNLIMITED = {
  NATTER_SENDS_PER_SECOND: '1000000',
  NATTER_SEND_BURST: '1000000',
  NATTER_FRAMES_PER_SECOND: '1000000',
  NATTER_FRAME_BURST: '1000000',
  NATTER_MAX_UNAUTHENTICATED: '50000',
  // Every driver connects from 127.0.0.1: the per-address shares would measure themselves.
  NATTER_MAX_UNAUTHENTICATED_PER_IP: '50000',
  NATTER_MAX_HTTP_CONNECTIONS_PER_IP: '50000',
  NATTER_DRAIN_MAX_DELAY_MS: '0',
};

/** @returns {Promise<number>} a port that was free a moment ago */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * @typedef {{ kind: 'natter'|'relay', pid: number, port: number, httpUrl: string, wsUrl: string, dataDir: string,
 *   logFile: string, secret: string, exited: Promise<number|null>, stop: () => Promise<number|null> }} Target
 */

/**
 * Starts the server under test in its own process (through bash, to lift the soft fd limit to the hard
 * one), and waits for GET /readyz to answer 200.
 * @param {'natter'|'relay'} kind
 * @param {{ nodeArgs?: string[], env?: Record<string, string>, secret?: string, port?: number,
 *   dataDir?: string }} [opts] `secret`: the JWT secret (nodes of one cluster share it); a random one by
 *   default. `port` and `dataDir`: those of a previous start, to restart the same server (default: fresh)
 * @returns {Promise<Target>}
 */
export async function startTarget(kind, opts = {}) {
  const port = opts.port ?? (await freePort());
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), `natter-bench-${kind}-`)));
  const secret = opts.secret ?? `bench-secret-${Math.random().toString(36).slice(2)}-0123456789`;
  const logFile = join(dataDir, opts.dataDir ? `server-${Date.now()}.log` : 'server.log');
  const main = kind === 'natter' ? NATTER_MAIN : RELAY_MAIN;
  const args = [
    ...SERVER_NODE_ARGS,
    ...(opts.nodeArgs ?? []),
    main,
    ...(kind === 'relay' ? ['--port', String(port)] : []),
  ];
  const env = {
    ...process.env,
    PORT: String(port),
    NATTER_HOST: HOST,
    NATTER_DATA_DIR: dataDir,
    NATTER_JWT_SECRET: secret,
    NATTER_LOG_LEVEL: 'warn',
    ...UNLIMITED,
    ...opts.env,
  };
  const quoted = args.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const child = spawn('bash', ['-c', `ulimit -n "$(ulimit -Hn)" && exec node ${quoted}`], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile);
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  const httpUrl = `http://${HOST}:${port}`;
  const target = {
    kind,
    pid: /** @type {number} */ (child.pid),
    port,
    httpUrl,
    wsUrl: kind === 'natter' ? `ws://${HOST}:${port}/ws` : httpUrl,
    dataDir,
    logFile,
    secret,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout')]);
      if (code !== 'timeout') return /** @type {number|null} */ (code);
      child.kill('SIGKILL');
      return exited;
    },
  };
  let dead = false;
  exited.then(() => {
    dead = true;
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !dead) {
    try {
      const res = await fetch(`${httpUrl}/readyz`);
      if (res.status === 200) return target;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await target.stop();
  const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '';
  throw new Error(`${kind} did not become ready (exited: ${dead}). Log tail:\n${tail}`);
}

/** @param {number} pid @returns {{ rssBytes: number, cpuSeconds: number }} */
export function procStats(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  // /proc/<pid>/stat: fields after the ")" of comm; utime and stime are fields 14 and 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssBytes: rssKiB * 1024, cpuSeconds: ticks / CLK_TCK };
}

/** @returns {{ busy: number, total: number }} machine-wide CPU jiffies from /proc/stat */
export function machineCpu() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/**
 * Scrapes Natter's Prometheus /metrics into { 'series{labels}': value } ({} if unavailable).
 * @param {string} httpUrl
 * @returns {Promise<Record<string, number>>}
 */
export async function scrapeMetrics(httpUrl) {
  /** @type {Record<string, number>} */
  const out = {};
  try {
    const res = await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
    if (res.status !== 200) return out;
    for (const line of (await res.text()).split('\n')) {
      const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
      if (m && !line.startsWith('#')) out[m[1]] = Number(m[2]);
    }
  } catch {
    // metrics are optional
  }
  return out;
}

/**
 * @param {string} secret @param {string} userId
 * @returns {Promise<string>} an HS256 JWT for userId, valid 2 h
 */
export function signToken(secret, userId) {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(secret));
}

/**
 * Makes `pairs` 1:1 pairs. For Natter: users bench-a<i>/bench-b<i> with JWTs, and their direct conversation
 * created over HTTP (POST /v1/conversations/direct). For the relay: just names.
 * @param {Target} target @param {number} pairs
 * @returns {Promise<import('./load-driver.mjs').Pair[]>}
 */
export async function makePairs(target, pairs) {
  const out = new Array(pairs);
  let next = 0;
  const worker = async () => {
    while (next < pairs) {
      const i = next++;
      const a = { user_id: `bench-a${i}`, token: '' };
      const b = { user_id: `bench-b${i}`, token: '' };
      if (target.kind === 'relay') {
        out[i] = { conversation_id: `c${i}`, a, b };
        continue;
      }
      a.token = await signToken(target.secret, a.user_id);
      b.token = await signToken(target.secret, b.user_id);
      let res;
      let body;
      // A retryable error (e.g. 503 unavailable) is retried as a client would, at most 3 times.
      for (let attempt = 0; ; attempt++) {
        res = await fetch(`${target.httpUrl}/v1/conversations/direct`, {
          method: 'POST',
          headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ user_id: b.user_id }),
        });
        body = await res.json().catch(() => ({}));
        if (res.status === 200 || !body?.error?.retryable || attempt === 3) break;
        await sleep(250 * (attempt + 1));
      }
      const id = body?.conversation?.conversation_id;
      if (res.status !== 200 || typeof id !== 'string') {
        const ready = await fetch(`${target.httpUrl}/readyz`).then((r) => r.status, String);
        throw new Error(
          `POST /v1/conversations/direct -> ${res.status} ${JSON.stringify(body).slice(0, 300)} after 4 attempts (GET /readyz -> ${ready})`,
        );
      }
      out[i] = { conversation_id: id, a, b };
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return out;
}

/**
 * A forked driver process, with request/response over IPC.
 * @param {string} script file name under bench/
 */
export function forkDriver(script) {
  const child = fork(join(ROOT, 'bench', script), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [],
  });
  /** @type {any[]} */
  const inbox = [];
  /** @type {((m: any) => void) | null} */
  let waiter = null;
  child.on('message', (m) => {
    if (waiter) {
      const w = waiter;
      waiter = null;
      w(m);
    } else inbox.push(m);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    pid: /** @type {number} */ (child.pid),
    /** @param {any} msg @param {number} timeoutMs @returns {Promise<any>} the driver's answer */
    request(msg, timeoutMs) {
      child.send(msg);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`driver ${script} timed out on ${msg.cmd}`)),
          timeoutMs,
        );
        const deliver = (/** @type {any} */ m) => {
          clearTimeout(timer);
          if (m?.type === 'fatal') reject(new Error(m.error));
          else resolve(m);
        };
        if (inbox.length > 0) deliver(inbox.shift());
        else waiter = deliver;
      });
    },
    async close() {
      if (child.connected) child.send({ cmd: 'close' });
      const done = await Promise.race([exited, sleep(5000).then(() => 'timeout')]);
      if (done === 'timeout') child.kill('SIGKILL');
    },
  };
}
