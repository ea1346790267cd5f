// Open-loop 1:1 load driver, run as a child process (fork) by run.mjs and steered over IPC.
//   parent -> {cmd:'connect', target:'natter'|'socketio', url, driverId, pairs:[{conversation_id, a, b}]}
//             where a/b = {user_id, token}; both sides of a pair live in this process, so send and delivery
//             times come from one clock.          <- {type:'connected', sockets, ms, failed}
//   parent -> {cmd:'run', runId, startAt (epoch ms), rate (msg/s for this driver), durationMs, warmupMs,
//             graceMs, bodyBytes, maxBacklogMs}   <- {type:'result', ...counters, ack/deliver histograms}
//   parent -> {cmd:'close'}                       (closes sockets and exits)
// Every send i has a scheduled time start + i/rate; latencies are measured from that scheduled time, so a
// stalled server or a lagging driver shows up in the numbers (coordinated omission is counted, not hidden).
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { encode, newHistogram } from './histogram.mjs';
import { errorsSince, sendOpenLoop, sleep, sleepUntil } from './open-loop.mjs';

/** @typedef {{user_id: string, token: string}} Member */
/** @typedef {{conversation_id: string, a: Member, b: Member}} Pair */
/**
 * One client connection, whatever the target. `send` writes one message; the driver feeds
 * incoming acks and events to `onAck(clientMsgId)` / `onEvent(clientMsgId)`.
 * @typedef {{ send: (conversationId: string, clientMsgId: string, reqId: string, body: string) => void, close: () => void }} Client
 */

const CONNECT_CONCURRENCY = 100;
const CONNECT_TIMEOUT_MS = 15_000;

/** Per-run bookkeeping; replaced on every run so late frames of an older run are recognised and ignored. */
let run = /** @type {RunState | null} */ (null);
/** @type {{ sender: Client, receiver: Client, conversationId: string }[]} */
const routes = [];
/** @type {Client[]} */
const clients = [];
const counters = { closed: 0, errors: /** @type {Record<string, number>} */ ({}), stale: 0 };

class RunState {
  /** @param {{runId: number, rate: number, durationMs: number, warmupMs: number, startPerf: number}} o */
  constructor(o) {
    this.tag = `d${driverId}r${o.runId}.`;
    this.rate = o.rate;
    this.total = Math.max(1, Math.round((o.rate * o.durationMs) / 1000));
    this.startPerf = o.startPerf;
    this.intervalMs = 1000 / o.rate;
    this.warmupCount = Math.floor((o.rate * o.warmupMs) / 1000);
    this.windowStart = o.startPerf + o.warmupMs;
    this.windowEnd = o.startPerf + o.durationMs;
    this.sent = 0;
    this.acked = 0;
    this.delivered = 0;
    this.duplicates = 0;
    this.ackedInWindow = 0;
    this.deliveredInWindow = 0;
    this.ackState = new Uint8Array(this.total);
    this.deliverState = new Uint8Array(this.total);
    this.ackHist = newHistogram();
    this.deliverHist = newHistogram();
  }

  /** @param {number} i */
  scheduled(i) {
    return this.startPerf + i * this.intervalMs;
  }

  /** @param {string} clientMsgId @returns {number} message index, or -1 when not of this run */
  index(clientMsgId) {
    if (typeof clientMsgId !== 'string' || !clientMsgId.startsWith(this.tag)) return -1;
    const i = Number(clientMsgId.slice(this.tag.length));
    return Number.isInteger(i) && i >= 0 && i < this.total ? i : -1;
  }

  /** @param {string} clientMsgId */
  onAck(clientMsgId) {
    const i = this.index(clientMsgId);
    if (i < 0) return void counters.stale++;
    if (this.ackState[i]++ > 0) return;
    const now = performance.now();
    this.acked++;
    if (now >= this.windowStart && now <= this.windowEnd) this.ackedInWindow++;
    if (i >= this.warmupCount)
      this.ackHist.recordValue(Math.max(0, Math.round((now - this.scheduled(i)) * 1000)));
  }

  /** @param {string} clientMsgId */
  onEvent(clientMsgId) {
    const i = this.index(clientMsgId);
    if (i < 0) return void counters.stale++;
    if (this.deliverState[i]++ > 0) return void this.duplicates++;
    const now = performance.now();
    this.delivered++;
    if (now >= this.windowStart && now <= this.windowEnd) this.deliveredInWindow++;
    if (i >= this.warmupCount)
      this.deliverHist.recordValue(Math.max(0, Math.round((now - this.scheduled(i)) * 1000)));
  }

  done() {
    return this.acked === this.sent && this.delivered === this.sent;
  }
}

let driverId = 0;

/** @param {string} clientMsgId */
const onAck = (clientMsgId) => run?.onAck(clientMsgId);
/** @param {string} clientMsgId */
const onEvent = (clientMsgId) => run?.onEvent(clientMsgId);
/** @param {string} code */
const onError = (code) => {
  counters.errors[code] = (counters.errors[code] ?? 0) + 1;
};

/**
 * A Natter WebSocket client: auth frame, wait for `ready`, answer pings.
 * @param {string} url @param {Member} member @returns {Promise<Client>}
 */
function connectNatter(url, member) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('timeout waiting for ready'));
    }, CONNECT_TIMEOUT_MS);
    /** @type {Client} */
    const client = {
      send: (conversationId, clientMsgId, reqId, body) =>
        ws.send(
          JSON.stringify({
            type: 'send',
            id: reqId,
            conversation_id: conversationId,
            client_msg_id: clientMsgId,
            body,
          }),
        ),
      close: () => ws.close(1000),
    };
    let ready = false;
    ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token: member.token, device_id: 'bench' })));
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      switch (frame.type) {
        case 'ack':
          return onAck(frame.client_msg_id);
        case 'event':
          return onEvent(frame.event?.client_msg_id);
        case 'ping':
          return ws.send('{"type":"pong"}');
        case 'ready':
          ready = true;
          clearTimeout(timer);
          return resolve(client);
        case 'error':
          if (!ready) {
            clearTimeout(timer);
            reject(new Error(`auth error: ${frame.code}`));
          }
          return onError(frame.code);
      }
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      if (!ready) reject(err);
    });
    ws.on('close', (code) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`closed ${code} before ready`));
      else counters.closed++;
    });
  });
}

/**
 * A Socket.IO client of bench/socketio-relay.mjs.
 * @param {string} url @param {Member} member @param {string} conversationId @returns {Promise<Client>}
 */
function connectSocketIo(url, member, conversationId) {
  return new Promise((resolve, reject) => {
    const socket = io(url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: CONNECT_TIMEOUT_MS,
      auth: { user_id: member.user_id, conversation_id: conversationId },
    });
    /** @param {{client_msg_id: string}} a */
    const ack = (a) => onAck(a?.client_msg_id);
    /** @type {Client} */
    const client = {
      send: (cid, clientMsgId, _reqId, body) =>
        socket.emit('send', { conversation_id: cid, client_msg_id: clientMsgId, body }, ack),
      close: () => socket.disconnect(),
    };
    socket.on('event', (ev) => onEvent(ev?.client_msg_id));
    socket.once('connect', () => resolve(client));
    socket.once('connect_error', (err) => reject(err));
    socket.on('disconnect', (reason) => {
      if (reason !== 'io client disconnect') counters.closed++;
    });
  });
}

/** @param {{target: string, url: string, pairs: Pair[]}} msg */
async function connectAll(msg) {
  const t0 = performance.now();
  /** @type {(() => Promise<void>)[]} */
  const jobs = [];
  let failed = 0;
  /** @type {string | undefined} */
  let firstError;
  for (const pair of msg.pairs) {
    const slot = { a: /** @type {Client|null} */ (null), b: /** @type {Client|null} */ (null) };
    for (const side of /** @type {const} */ (['a', 'b'])) {
      jobs.push(async () => {
        try {
          slot[side] =
            msg.target === 'natter'
              ? await connectNatter(msg.url, pair[side])
              : await connectSocketIo(msg.url, pair[side], pair.conversation_id);
          clients.push(slot[side]);
          if (slot.a && slot.b) {
            routes.push({ sender: slot.a, receiver: slot.b, conversationId: pair.conversation_id });
            routes.push({ sender: slot.b, receiver: slot.a, conversationId: pair.conversation_id });
          }
        } catch (err) {
          failed++;
          firstError ??= String(/** @type {Error} */ (err).message ?? err);
        }
      });
    }
  }
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]();
  };
  await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, worker));
  return {
    type: 'connected',
    sockets: clients.length,
    routes: routes.length,
    failed,
    firstError,
    ms: Math.round(performance.now() - t0),
  };
}

/**
 * @param {{runId: number, startAt: number, rate: number, durationMs: number, warmupMs: number, graceMs: number,
 *   bodyBytes: number, maxBacklogMs: number}} o
 */
async function runLoad(o) {
  const startPerf = performance.now() + (o.startAt - Date.now());
  const r = new RunState({ ...o, startPerf });
  run = r;
  const filler = 'x'.repeat(Math.max(0, o.bodyBytes - 24));
  const lag = monitorEventLoopDelay({ resolution: 10 });
  const errorsBefore = { ...counters.errors };
  const closedBefore = counters.closed;
  await sleepUntil(startPerf);
  lag.enable();
  const { sendEnd, driverCpu, aborted } = await sendOpenLoop({
    run: r,
    startPerf,
    send: (i) => {
      const route = routes[i % routes.length];
      route.sender.send(route.conversationId, r.tag + i, String(i), `${i} ${filler}`);
    },
    // Bounded: give up on a step once the oldest unacked message is maxBacklogMs behind schedule.
    behind: () => r.sent - r.acked > (o.rate * o.maxBacklogMs) / 1000,
  });
  const graceEnd = sendEnd + o.graceMs;
  while (!r.done() && performance.now() < graceEnd) await sleep(20);
  lag.disable();
  run = null;

  const windowMs = Math.max(1, Math.min(sendEnd, r.windowEnd) - r.windowStart);
  const errors = errorsSince(counters.errors, errorsBefore);
  return {
    type: 'result',
    driverId,
    offeredRate: o.rate,
    scheduled: r.total,
    sent: r.sent,
    acked: r.acked,
    delivered: r.delivered,
    lostAcks: r.sent - r.acked,
    lostDeliveries: r.sent - r.delivered,
    duplicates: r.duplicates,
    ackedInWindow: r.ackedInWindow,
    deliveredInWindow: r.deliveredInWindow,
    windowMs,
    aborted,
    errors,
    closed: counters.closed - closedBefore,
    driverCpu,
    driverLagP99Ms: lag.percentile(99) / 1e6,
    ackHist: encode(r.ackHist),
    deliverHist: encode(r.deliverHist),
  };
}

process.on('message', async (/** @type {any} */ msg) => {
  try {
    if (msg.cmd === 'connect') {
      driverId = msg.driverId;
      process.send?.(await connectAll(msg));
    } else if (msg.cmd === 'run') {
      process.send?.(await runLoad(msg));
    } else if (msg.cmd === 'close') {
      for (const c of clients) c.close();
      setTimeout(() => process.exit(0), 500);
    }
  } catch (err) {
    process.send?.({ type: 'fatal', error: String(/** @type {Error} */ (err).stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
