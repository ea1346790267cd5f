// Idle-connection driver, run as a child process (fork) by run.mjs and steered over IPC.
//   parent -> {cmd:'connect', url, secret, from, count, concurrency}
//             opens `count` Natter WebSockets for users bench-idle<from..from+count-1>, each authenticated with
//             its own HS256 JWT, and waits for every `ready`.   <- {type:'connected', ready, failed, errors, ms}
//   parent -> {cmd:'status'}  <- {type:'status', open, closedCodes}  (sockets still open, close codes seen)
//   parent -> {cmd:'close'}   (closes everything and exits)
// Sockets answer server pings and otherwise stay silent.
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { signToken } from './targets.mjs';

const READY_TIMEOUT_MS = 30_000;
/** @type {WebSocket[]} */
const sockets = [];
/** @type {Record<string, number>} */
const closedCodes = {};
let open = 0;

/** @param {string} url @param {string} token @returns {Promise<void>} */
function openOne(url, token) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let ready = false;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('timeout'));
    }, READY_TIMEOUT_MS);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token })));
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type === 'ping') ws.send('{"type":"pong"}');
      else if (frame.type === 'ready' && !ready) {
        ready = true;
        open++;
        clearTimeout(timer);
        sockets.push(ws);
        resolve();
      } else if (frame.type === 'error' && !ready) reject(new Error(frame.code));
    });
    ws.on('error', (err) => {
      if (!ready) {
        clearTimeout(timer);
        reject(err);
      }
    });
    ws.on('close', (code) => {
      clearTimeout(timer);
      if (ready) {
        open--;
        closedCodes[code] = (closedCodes[code] ?? 0) + 1;
      } else reject(new Error(`closed ${code}`));
    });
  });
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
      try {
        await openOne(msg.url, await signToken(msg.secret, `bench-idle${i}`));
      } catch (err) {
        failed++;
        const key = String(/** @type {any} */ (err)?.code ?? /** @type {Error} */ (err)?.message ?? err);
        errors[key] = (errors[key] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: msg.concurrency }, worker));
  return { type: 'connected', ready: open, failed, errors, ms: Math.round(performance.now() - t0) };
}

process.on('message', async (/** @type {any} */ msg) => {
  try {
    if (msg.cmd === 'connect') process.send?.(await connectAll(msg));
    else if (msg.cmd === 'status') process.send?.({ type: 'status', open, closedCodes });
    else if (msg.cmd === 'close') {
      for (const ws of sockets) ws.terminate();
      setTimeout(() => process.exit(0), 200);
    }
  } catch (err) {
    process.send?.({ type: 'fatal', error: String(/** @type {Error} */ (err).stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
