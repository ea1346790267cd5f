// Reconnect-storm driver, run as a child process (fork) by bench/storm.mjs and steered over IPC.
//   parent -> {cmd:'connect', url, secret, from, count, concurrency}
//             opens `count` Natter WebSockets for users bench-storm<from..>, each authenticated with its own
//             JWT; each syncs once (listing) and keeps its token   <- {type:'connected', ready, failed, errors, ms}
//   parent -> {cmd:'progress'}  <- {type:'progress', resumed, cpuSeconds}  (clients resumed so far, CPU used)
//   parent -> {cmd:'report', readyAt}   once the storm is over: per-client timings against the moment the
//             restarted server answered /readyz (epoch ms)          <- {type:'report', ...}
//   parent -> {cmd:'close'}
// When the server drains, every client does what the SDK's NatterClient does (packages/client/src/
// natter-client.ts `onClose`, with the SDK's own delay functions from packages/client/src/backoff.ts): after a
// `reconnect` frame or a 1012 close it retries after max(retry_after_ms, restartRetryDelay()) while within
// the restart window, else after backoffDelay(attempt++); each attempt is auth -> ready -> sync with its
// token. A client counts as resumed when that sync answers.
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { backoffDelay, restartRetryDelay } from '../packages/client/dist/backoff.js';
import { signToken } from './targets.mjs';

const READY_TIMEOUT_MS = 30_000;
/** As the SDK's RESTART_WINDOW_MS. */
const RESTART_WINDOW_MS = 60_000;

/** Epoch ms now, at sub-ms resolution (one clock for this process, comparable with the parent's Date.now()). */
const now = () => performance.timeOrigin + performance.now();

/** @type {StormClient[]} */
const clients = [];

class StormClient {
  /** @param {string} url @param {string} token */
  constructor(url, token) {
    this.url = url;
    this.jwt = token;
    /** the change token of its last sync */
    this.syncToken = '';
    this.attempt = 0;
    this.retryAfterMs = 0;
    /** @type {number | undefined} */
    this.restartingSince = undefined;
    /** @type {number | undefined} when its live socket closed */
    this.closedAt = undefined;
    /** @type {{ at: number, outcome: string }[]} reconnect attempts after the close */
    this.attempts = [];
    /** @type {number | undefined} */
    this.resumedAt = undefined;
    /** @type {((err?: Error) => void) | undefined} settles the first connect */
    this.firstReady = undefined;
  }

  /** One attempt: open, auth, ready, sync (listing the first time, from its token after). */
  open() {
    const attempt = this.closedAt === undefined ? undefined : { at: now(), outcome: 'pending' };
    if (attempt) this.attempts.push(attempt);
    const ws = new WebSocket(this.url, { perMessageDeflate: false });
    let live = false;
    const timer = setTimeout(() => {
      if (attempt?.outcome === 'pending') attempt.outcome = `no resume in ${READY_TIMEOUT_MS / 1000} s`;
      ws.terminate();
    }, READY_TIMEOUT_MS);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token: this.jwt, device_id: 'bench' })));
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type === 'ping') ws.send('{"type":"pong"}');
      else if (frame.type === 'ready')
        ws.send(
          JSON.stringify({ type: 'sync', id: 's', ...(this.syncToken ? { since: this.syncToken } : {}) }),
        );
      else if (frame.type === 'sync_result' && !live) {
        live = true;
        clearTimeout(timer);
        this.syncToken = frame.token;
        this.attempt = 0;
        if (attempt) {
          attempt.outcome = 'resumed';
          this.resumedAt = now();
        }
        this.firstReady?.();
        this.firstReady = undefined;
      } else if (frame.type === 'reconnect') {
        this.retryAfterMs = frame.retry_after_ms ?? 0;
        this.restartingSince ??= now();
      } else if (frame.type === 'error' && !live && attempt) attempt.outcome = `error ${frame.code}`;
    });
    ws.on('unexpected-response', (_req, res) => {
      if (attempt) attempt.outcome = `http ${res.statusCode}`;
      ws.terminate();
    });
    ws.on('error', (err) => {
      if (attempt && attempt.outcome === 'pending')
        attempt.outcome = /** @type {any} */ (err).code ?? err.message;
    });
    ws.on('close', (code) => {
      clearTimeout(timer);
      if (this.firstReady) {
        this.firstReady(new Error(`closed ${code} before ready`));
        this.firstReady = undefined;
        return;
      }
      if (attempt && attempt.outcome === 'pending') attempt.outcome = `closed ${code}`;
      this.onClose(code);
    });
  }

  /** The SDK's reconnect decision (NatterClient.onClose), with its delay functions. @param {number} code */
  onClose(code) {
    this.closedAt ??= now();
    if (this.resumedAt !== undefined) return; // resumed once after the restart: this storm is over for it
    if (code === 1012) this.restartingSince ??= now();
    const restarting = this.restartingSince !== undefined && now() - this.restartingSince < RESTART_WINDOW_MS;
    const retry = restarting ? restartRetryDelay() : backoffDelay(this.attempt++);
    const delay = Math.max(this.retryAfterMs, retry);
    this.retryAfterMs = 0;
    setTimeout(() => this.open(), delay);
  }
}

/** @param {{url: string, secret: string, from: number, count: number, concurrency: number}} msg */
async function connectAll(msg) {
  const t0 = performance.now();
  let next = 0;
  let failed = 0;
  /** @type {Record<string, number>} */
  const errors = {};
  const worker = async () => {
    while (next < msg.count) {
      const i = msg.from + next++;
      const client = new StormClient(msg.url, await signToken(msg.secret, `bench-storm${i}`));
      try {
        await new Promise((resolve, reject) => {
          client.firstReady = (err) => (err ? reject(err) : resolve(undefined));
          client.open();
        });
        clients.push(client);
      } catch (err) {
        failed++;
        const key = String(/** @type {Error} */ (err).message ?? err);
        errors[key] = (errors[key] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: msg.concurrency }, worker));
  return { type: 'connected', ready: clients.length, failed, errors, ms: Math.round(performance.now() - t0) };
}

/**
 * Per-client timings: `downMs` from its socket closing to its resume; `sinceReadyMs` from the restarted
 * server being ready to its resume; `overrunMs` from its first attempt the ready server could take (the
 * first one at or after readyAt, or an earlier one that succeeded) to its resume, the part of the wait its
 * backoff did not ask for; `extraAttempts` attempts after readyAt beyond the first (each a refusal or a
 * failure of the ready server).
 * @param {number} readyAt
 */
function report(readyAt) {
  /** @type {{ downMs: number[], sinceReadyMs: number[], overrunMs: number[], extraAttempts: number[] }} */
  const out = { downMs: [], sinceReadyMs: [], overrunMs: [], extraAttempts: [] };
  /** @type {Record<string, number>} */
  const outcomes = {};
  let resumed = 0;
  let notClosed = 0;
  let firstClose = Number.POSITIVE_INFINITY;
  let lastResume = 0;
  for (const c of clients) {
    for (const a of c.attempts) outcomes[a.outcome] = (outcomes[a.outcome] ?? 0) + 1;
    if (c.closedAt === undefined) {
      notClosed++;
      continue;
    }
    firstClose = Math.min(firstClose, c.closedAt);
    if (c.resumedAt === undefined) continue;
    resumed++;
    lastResume = Math.max(lastResume, c.resumedAt);
    const afterReady = c.attempts.filter((a) => a.at >= readyAt);
    const success = /** @type {{ at: number }} */ (c.attempts.find((a) => a.outcome === 'resumed'));
    const firstUsable = Math.min(success.at, afterReady[0]?.at ?? Number.POSITIVE_INFINITY);
    out.downMs.push(c.resumedAt - c.closedAt);
    out.sinceReadyMs.push(Math.max(0, c.resumedAt - readyAt));
    out.overrunMs.push(c.resumedAt - firstUsable);
    out.extraAttempts.push(Math.max(0, afterReady.length - 1));
  }
  return {
    type: 'report',
    clients: clients.length,
    resumed,
    notClosed,
    outcomes,
    firstClose: Number.isFinite(firstClose) ? firstClose : null,
    lastResume: lastResume || null,
    ...out,
  };
}

process.on('message', async (/** @type {any} */ msg) => {
  try {
    if (msg.cmd === 'connect') process.send?.(await connectAll(msg));
    else if (msg.cmd === 'progress') {
      const cpu = process.cpuUsage();
      process.send?.({
        type: 'progress',
        resumed: clients.filter((c) => c.resumedAt !== undefined).length,
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
      });
    } else if (msg.cmd === 'report') process.send?.(report(msg.readyAt));
    else if (msg.cmd === 'close') setTimeout(() => process.exit(0), 100);
  } catch (err) {
    process.send?.({ type: 'fatal', error: String(/** @type {Error} */ (err).stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
