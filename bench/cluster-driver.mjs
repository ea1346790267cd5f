// Open-loop load driver for conversations of any size, run as a child process (fork) and steered over
// IPC, by the cluster scenario (bench/cluster.mjs) and the groups scenario (bench/groups.mjs). Unlike
// load-driver.mjs it connects each user to a node of its own (a client-side node list) and handles
// conversations of any size (1:1 pairs or groups), so it can count deliveries per recipient and tell
// same-node deliveries from cross-node ones. It speaks Natter, or Socket.IO to bench/socketio-relay.mjs
// (each member joins its conversation's room).
//   parent -> {cmd:'connect', driverId, target?: 'natter'|'socketio', conversations:[{conversation_id,
//             members:[{user_id, token, url, node}]}]}
//             every member of a conversation lives in this process, so send and delivery times come from one
//             clock                                     <- {type:'connected', sockets, routes, failed, ms}
//   parent -> {cmd:'run', runId, startAt (epoch ms), rate (sends/s for this driver), durationMs, warmupMs,
//             graceMs, bodyBytes, maxBacklogMs}        <- {type:'result', ...counters, histograms}
//   parent -> {cmd:'tally', settleMs}                 <- {type:'tally', runs:[{runId, sent, expected, acked,
//             delivered, duplicates}]}: every run's final counts, late frames included (waits up to settleMs
//             for stragglers), to tell a message still in flight when its step ended from a lost one
//   parent -> {cmd:'close'}                           (closes sockets and exits)
// Send i goes out at start + i/rate (open loop) on route i % routes; every latency is measured from that
// scheduled time, so a stall anywhere (server, database, Redis, this driver) is counted in full.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { encode, newHistogram } from './histogram.mjs';
import { errorsSince, sendOpenLoop, sleep, sleepUntil } from './open-loop.mjs';

/** @typedef {{user_id: string, token: string, url: string, node: number}} Member */
/** @typedef {{conversation_id: string, members: Member[]}} Conversation */
/**
 * @typedef {{ send: (conversationId: string, clientMsgId: string, reqId: string, body: string) => void,
 *   close: () => void, node: number, slot: number }} Client  slot = the member's index in its conversation
 */
/** @typedef {{ sender: Client, conversationId: string, receivers: Client[] }} Route */

const CONNECT_CONCURRENCY = 50;
const CONNECT_TIMEOUT_MS = 15_000;

let driverId = 0;
/** Conversation size (the largest, if they differ): deliveries are tracked per (message, member slot). */
let groupSize = 2;
/** @type {Route[]} */
const routes = [];
/** @type {Client[]} */
const clients = [];
const counters = { closed: 0, errors: /** @type {Record<string, number>} */ ({}), stale: 0, echoes: 0 };
let run = /** @type {RunState | null} */ (null);
/** Every run of this process by id: frames that arrive after their step ended still count in the tally. */
const runs = /** @type {Map<number, RunState>} */ (new Map());

class RunState {
  /** @param {{runId: number, rate: number, durationMs: number, warmupMs: number, startPerf: number}} o */
  constructor(o) {
    this.runId = o.runId;
    this.tag = `c${driverId}r${o.runId}.`;
    /** false once the step is over: later frames are counted (late*) but not timed */
    this.active = true;
    this.lateAcks = 0;
    this.lateDeliveries = 0;
    this.total = Math.max(1, Math.round((o.rate * o.durationMs) / 1000));
    this.startPerf = o.startPerf;
    this.intervalMs = 1000 / o.rate;
    this.warmupCount = Math.floor((o.rate * o.warmupMs) / 1000);
    this.windowStart = o.startPerf + o.warmupMs;
    this.windowEnd = o.startPerf + o.durationMs;
    this.sent = 0;
    /** deliveries the sends so far call for (one per other member of the conversation) */
    this.expected = 0;
    this.acked = 0;
    this.delivered = 0;
    this.crossDelivered = 0;
    this.duplicates = 0;
    this.ackedInWindow = 0;
    this.deliveredInWindow = 0;
    this.ackState = new Uint8Array(this.total);
    this.deliverState = new Uint8Array(this.total * groupSize);
    this.ackHist = newHistogram();
    this.deliverHist = newHistogram();
    this.sameNodeHist = newHistogram();
    this.crossNodeHist = newHistogram();
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
    if (!this.active) return void this.lateAcks++;
    const now = performance.now();
    this.acked++;
    if (now >= this.windowStart && now <= this.windowEnd) this.ackedInWindow++;
    if (i >= this.warmupCount)
      this.ackHist.recordValue(Math.max(0, Math.round((now - this.scheduled(i)) * 1000)));
  }

  /** @param {Client} client @param {string} clientMsgId */
  onEvent(client, clientMsgId) {
    const i = this.index(clientMsgId);
    if (i < 0) return void counters.stale++;
    const route = routes[i % routes.length];
    if (client === route.sender) return void counters.echoes++; // the sender's own event: not a delivery
    const k = i * groupSize + client.slot;
    if (this.deliverState[k]++ > 0) return void this.duplicates++;
    if (!this.active) return void this.lateDeliveries++;
    const now = performance.now();
    this.delivered++;
    const cross = client.node !== route.sender.node;
    if (cross) this.crossDelivered++;
    if (now >= this.windowStart && now <= this.windowEnd) this.deliveredInWindow++;
    if (i >= this.warmupCount) {
      const us = Math.max(0, Math.round((now - this.scheduled(i)) * 1000));
      this.deliverHist.recordValue(us);
      (cross ? this.crossNodeHist : this.sameNodeHist).recordValue(us);
    }
  }

  done() {
    return this.acked === this.sent && this.delivered === this.expected;
  }

  /** Final counts, late frames included. */
  tally() {
    const acked = this.acked + this.lateAcks;
    const delivered = this.delivered + this.lateDeliveries;
    return {
      runId: this.runId,
      sent: this.sent,
      expected: this.expected,
      acked,
      delivered,
      duplicates: this.duplicates,
      complete: acked === this.sent && delivered === this.expected,
    };
  }
}

/** The run a client_msg_id belongs to (`c<driver>r<run>.<i>`), finished or not. @param {unknown} clientMsgId */
function runOf(clientMsgId) {
  if (typeof clientMsgId !== 'string') return undefined;
  const m = /^c\d+r(\d+)\./.exec(clientMsgId);
  return m ? runs.get(Number(m[1])) : undefined;
}

/** @param {string} code */
const onError = (code) => {
  counters.errors[code] = (counters.errors[code] ?? 0) + 1;
};

/** @param {string} clientMsgId */
const onAck = (clientMsgId) => (runOf(clientMsgId) ?? run)?.onAck(clientMsgId);
/** @param {Client} client @param {string} clientMsgId */
const onEvent = (client, clientMsgId) => (runOf(clientMsgId) ?? run)?.onEvent(client, clientMsgId);

/**
 * A Socket.IO client of bench/socketio-relay.mjs, in the room of its conversation.
 * @param {Member} member @param {number} slot @param {string} conversationId @returns {Promise<Client>}
 */
function connectSocketIo(member, slot, conversationId) {
  return new Promise((resolve, reject) => {
    const socket = io(member.url, {
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
      node: member.node,
      slot,
      send: (cid, clientMsgId, _reqId, body) =>
        socket.emit('send', { conversation_id: cid, client_msg_id: clientMsgId, body }, ack),
      close: () => socket.disconnect(),
    };
    socket.on('event', (ev) => onEvent(client, ev?.client_msg_id));
    socket.once('connect', () => resolve(client));
    socket.once('connect_error', (err) => reject(err));
    socket.on('disconnect', (reason) => {
      if (reason !== 'io client disconnect') counters.closed++;
    });
  });
}

/**
 * A Natter WebSocket client on one node: auth frame, wait for `ready`, answer pings.
 * @param {Member} member @param {number} slot @returns {Promise<Client>}
 */
function connect(member, slot) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(member.url, { perMessageDeflate: false });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`timeout waiting for ready from ${member.url}`));
    }, CONNECT_TIMEOUT_MS);
    /** @type {Client} */
    const client = {
      node: member.node,
      slot,
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
          return onEvent(client, frame.event?.client_msg_id);
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

/** @param {{conversations: Conversation[], target?: 'natter'|'socketio'}} msg */
async function connectAll(msg) {
  const t0 = performance.now();
  groupSize = Math.max(2, ...msg.conversations.map((c) => c.members.length));
  /** @type {(() => Promise<void>)[]} */
  const jobs = [];
  /** @type {(Client|null)[][]} */
  const slots = msg.conversations.map((c) => c.members.map(() => null));
  let failed = 0;
  /** @type {string | undefined} */
  let firstError;
  msg.conversations.forEach((conv, c) => {
    conv.members.forEach((member, m) => {
      jobs.push(async () => {
        try {
          const client =
            msg.target === 'socketio'
              ? await connectSocketIo(member, m, conv.conversation_id)
              : await connect(member, m);
          slots[c][m] = client;
          clients.push(client);
        } catch (err) {
          failed++;
          firstError ??= String(/** @type {Error} */ (err).message ?? err);
        }
      });
    });
  });
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]();
  };
  await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, worker));
  // Routes interleave conversations: consecutive sends go to different conversations and senders.
  const widest = Math.max(...msg.conversations.map((c) => c.members.length));
  for (let m = 0; m < widest; m++) {
    msg.conversations.forEach((conv, c) => {
      const sender = slots[c][m];
      if (!sender) return;
      const receivers = /** @type {Client[]} */ (slots[c].filter((x, j) => x !== null && j !== m));
      routes.push({ sender, conversationId: conv.conversation_id, receivers });
    });
  }
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
  runs.set(o.runId, r);
  const filler = 'x'.repeat(Math.max(0, o.bodyBytes - 24));
  const lag = monitorEventLoopDelay({ resolution: 10 });
  const errorsBefore = { ...counters.errors };
  const closedBefore = counters.closed;
  const echoesBefore = counters.echoes;
  const meanFanout = routes.reduce((a, x) => a + x.receivers.length, 0) / Math.max(1, routes.length);
  await sleepUntil(startPerf);
  lag.enable();
  const backlog = (o.rate * o.maxBacklogMs) / 1000;
  const { sendEnd, driverCpu, aborted } = await sendOpenLoop({
    run: r,
    startPerf,
    send: (i) => {
      const route = routes[i % routes.length];
      route.sender.send(route.conversationId, r.tag + i, String(i), `${i} ${filler}`);
      r.expected += route.receivers.length;
    },
    // Bounded: give up on a step once acks, or deliveries, are more than maxBacklogMs of sends behind.
    behind: () => r.sent - r.acked > backlog || r.expected - r.delivered > backlog * Math.max(1, meanFanout),
  });
  const graceEnd = sendEnd + o.graceMs;
  while (!r.done() && performance.now() < graceEnd) await sleep(20);
  lag.disable();
  run = null;
  r.active = false;

  const windowMs = Math.max(1, Math.min(sendEnd, r.windowEnd) - r.windowStart);
  const errors = errorsSince(counters.errors, errorsBefore);
  return {
    type: 'result',
    driverId,
    offeredRate: o.rate,
    scheduled: r.total,
    sent: r.sent,
    expected: r.expected,
    acked: r.acked,
    delivered: r.delivered,
    crossDelivered: r.crossDelivered,
    lostAcks: r.sent - r.acked,
    lostDeliveries: r.expected - r.delivered,
    duplicates: r.duplicates,
    echoes: counters.echoes - echoesBefore,
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
    sameNodeHist: encode(r.sameNodeHist),
    crossNodeHist: encode(r.crossNodeHist),
  };
}

process.on('message', async (/** @type {any} */ msg) => {
  try {
    if (msg.cmd === 'connect') {
      driverId = msg.driverId;
      process.send?.(await connectAll(msg));
    } else if (msg.cmd === 'run') {
      process.send?.(await runLoad(msg));
    } else if (msg.cmd === 'tally') {
      const until = performance.now() + msg.settleMs;
      while ([...runs.values()].some((r) => !r.tally().complete) && performance.now() < until)
        await sleep(100);
      process.send?.({ type: 'tally', runs: [...runs.values()].map((r) => r.tally()) });
    } else if (msg.cmd === 'close') {
      for (const c of clients) c.close();
      setTimeout(() => process.exit(0), 500);
    }
  } catch (err) {
    process.send?.({ type: 'fatal', error: String(/** @type {Error} */ (err).stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
