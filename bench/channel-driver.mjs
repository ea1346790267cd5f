// Channel driver, run as a child process (fork) by bench/channel.mjs and steered over IPC. It holds a
// share of a channel's connected members (receivers) and a few posters, and, in driver 0, the offline
// members whose first sync and resume are timed.
//   parent -> {cmd:'connect', url, secret, receivers: user ids, posters: user ids, concurrency, deadline?}
//             every socket authenticated with its own JWT; none begun after `deadline` (epoch ms)
//                                                   <- {type:'connected', sockets, failed, notTried, firstError, ms}
//   parent -> {cmd:'run', runId, startAt (epoch ms), rate (posts/s, all drivers together), driverIndex,
//             drivers, durationMs, warmupMs, graceMs, bodyBytes, maxBacklogMs, conversationId}
//             post i is made by driver i % drivers (poster (i / drivers) % posters) at startAt + i / rate;
//             every receiver here times its delivery from that scheduled time (one machine, one clock)
//                                                                   <- {type:'result', ...counters, histograms}
//   parent -> {cmd:'first-sync', url, secret, group, userIds}  each (an offline member) connects and syncs
//             without a token, every page, one after the other; the group's tokens are kept <- {type:'synced', hist, ...}
//   parent -> {cmd:'resume', url, secret, group, conversationId}  the group's members connect again, sync from their
//             tokens and fetch the channel's events they missed  <- {type:'resumed', hist, wrong, fetched, ...}
//   parent -> {cmd:'close'}
// Receivers do not parse JSON: a delivery is found by its client_msg_id's text, so a driver process can
// take tens of thousands of deliveries a second.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { encode, newHistogram } from './histogram.mjs';
import { errorsSince, sleep } from './open-loop.mjs';
import { signToken } from './targets.mjs';

const CONNECT_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 30_000;
/** Epoch ms now, at sub-ms resolution (comparable across processes of one machine). */
const now = () => performance.timeOrigin + performance.now();
const TAG = '"client_msg_id":"ch';

/** @type {WebSocket[]} */
const receivers = [];
/** @type {WebSocket[]} */
const posters = [];
const counters = { closed: 0, errors: /** @type {Record<string, number>} */ ({}) };
/** @type {Run | null} */
let run = null;
/** Offline members by group (say, early and late joiners). @type {Map<string, { userId: string, token: string, since: string, lastSeq: number }[]>} */
const offline = new Map();

class Run {
  /** @param {any} o */
  constructor(o) {
    this.id = o.runId;
    this.prefix = `ch${o.runId}.`;
    this.startAt = o.startAt;
    this.intervalMs = 1000 / o.rate;
    this.total = Math.max(1, Math.round((o.rate * o.durationMs) / 1000));
    this.warmupCount = Math.floor((o.rate * o.warmupMs) / 1000);
    this.windowStart = o.startAt + o.warmupMs;
    this.windowEnd = o.startAt + o.durationMs;
    this.active = true;
    this.sent = 0;
    this.acked = 0;
    this.ackedInWindow = 0;
    this.delivered = 0;
    this.deliveredInWindow = 0;
    this.late = 0;
    /** deliveries of each post to this driver's receivers (index: post) */
    this.perPost = new Uint32Array(this.total);
    this.ackHist = newHistogram();
    this.deliverHist = newHistogram();
  }

  /** @param {number} i */
  scheduled(i) {
    return this.startAt + i * this.intervalMs;
  }

  /** @param {string} text a frame that names a client_msg_id of the form ch<run>.<i> */
  onDelivery(text) {
    const at = text.indexOf(TAG);
    const from = at + TAG.length - 2;
    const end = text.indexOf('"', from);
    const id = text.slice(from, end);
    if (!id.startsWith(this.prefix)) return;
    const i = Number(id.slice(this.prefix.length));
    if (!(i >= 0 && i < this.total)) return;
    if (!this.active) return void this.late++;
    const t = now();
    this.perPost[i]++;
    this.delivered++;
    if (t >= this.windowStart && t <= this.windowEnd) this.deliveredInWindow++;
    if (i >= this.warmupCount)
      this.deliverHist.recordValue(Math.max(0, Math.round((t - this.scheduled(i)) * 1000)));
  }

  /** @param {string} clientMsgId */
  onAck(clientMsgId) {
    if (!this.active || typeof clientMsgId !== 'string' || !clientMsgId.startsWith(this.prefix)) return;
    const i = Number(clientMsgId.slice(this.prefix.length));
    const t = now();
    this.acked++;
    if (t >= this.windowStart && t <= this.windowEnd) this.ackedInWindow++;
    if (i >= this.warmupCount)
      this.ackHist.recordValue(Math.max(0, Math.round((t - this.scheduled(i)) * 1000)));
  }
}

/** @param {string} code */
const onError = (code) => {
  counters.errors[code] = (counters.errors[code] ?? 0) + 1;
};

/**
 * Opens an authenticated socket; `onFrame` gets each text frame after `ready`.
 * @param {string} url @param {string} token @param {(text: string, ws: WebSocket) => void} onFrame
 * @returns {Promise<WebSocket>}
 */
function open(url, token, onFrame) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let ready = false;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('timeout waiting for ready'));
    }, CONNECT_TIMEOUT_MS);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token, device_id: 'bench' })));
    ws.on('message', (data) => {
      const text = data.toString();
      if (text.includes('"type":"ping"')) return void ws.send('{"type":"pong"}');
      if (ready) return onFrame(text, ws);
      if (text.includes('"type":"ready"')) {
        ready = true;
        clearTimeout(timer);
        resolve(ws);
      } else if (text.includes('"type":"error"')) {
        clearTimeout(timer);
        reject(new Error(`auth answered ${text.slice(0, 200)}`));
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

/** @param {string} text */
function onReceiverFrame(text) {
  if (run && text.includes(TAG)) run.onDelivery(text);
}

/** A poster's frames: acks and errors count; the channel's events are ignored. @param {string} text */
function onPosterFrame(text) {
  const frame = JSON.parse(text);
  if (frame.type === 'ack') run?.onAck(frame.client_msg_id);
  else if (frame.type === 'error') onError(frame.code);
}

/**
 * @param {{url: string, secret: string, receivers: string[], posters: string[], concurrency: number,
 *   deadline?: number}} msg no socket is begun after `deadline` (epoch ms): the rest count as not tried
 */
async function connectAll(msg) {
  const t0 = performance.now();
  const jobs = [
    ...msg.posters.map((u) => ({ u, poster: true })),
    ...msg.receivers.map((u) => ({ u, poster: false })),
  ];
  let next = 0;
  let failed = 0;
  /** @type {string | undefined} */
  let firstError;
  const worker = async () => {
    while (next < jobs.length && !(Date.now() > (msg.deadline ?? Number.POSITIVE_INFINITY))) {
      const job = jobs[next++];
      try {
        const token = await signToken(msg.secret, job.u);
        const ws = await open(msg.url, token, job.poster ? onPosterFrame : onReceiverFrame);
        if (job.poster) posters.push(ws);
        else receivers.push(ws);
      } catch (err) {
        failed++;
        firstError ??= String(/** @type {Error} */ (err).message ?? err);
      }
    }
  };
  await Promise.all(Array.from({ length: msg.concurrency }, worker));
  return {
    type: 'connected',
    sockets: receivers.length + posters.length,
    receivers: receivers.length,
    posters: posters.length,
    failed,
    notTried: jobs.length - next,
    firstError,
    ms: Math.round(performance.now() - t0),
  };
}

/**
 * One step: this driver's share of the posts on the global schedule, timed deliveries to its receivers.
 * @param {any} o
 */
async function runLoad(o) {
  const r = new Run(o);
  run = r;
  const filler = 'x'.repeat(Math.max(0, o.bodyBytes - 24));
  const lag = monitorEventLoopDelay({ resolution: 10 });
  const errorsBefore = { ...counters.errors };
  const closedBefore = counters.closed;
  const backlogPosts = Math.max(2, (o.maxBacklogMs * 1000) / (r.intervalMs * 1000));
  await sleep(Math.max(0, r.startAt - Date.now()));
  lag.enable();
  let aborted = false;
  let cpu0 = process.cpuUsage();
  let wall0 = now();
  let mine = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const t = now();
      if (t >= r.windowStart && wall0 < r.windowStart) {
        cpu0 = process.cpuUsage();
        wall0 = t;
      }
      const due = Math.min(r.total, Math.floor((t - r.startAt) / r.intervalMs) + 1);
      for (let i = r.sent; i < due; i++) {
        if (i % o.drivers !== o.driverIndex || posters.length === 0) continue;
        const poster = posters[Math.floor(i / o.drivers) % posters.length];
        poster.send(
          JSON.stringify({
            type: 'send',
            id: `p${i}`,
            conversation_id: o.conversationId,
            client_msg_id: `${r.prefix}${i}`,
            body: `${i} ${filler}`,
          }),
        );
        mine++;
      }
      r.sent = Math.max(r.sent, due);
      // Bounded: give up once this driver's posts go unacked, or its receivers' deliveries fall behind
      // the schedule, by more than maxBacklogMs of posts.
      const deliveredPosts = receivers.length > 0 ? r.delivered / receivers.length : r.sent;
      if (mine - r.acked > backlogPosts || r.sent - deliveredPosts > backlogPosts + 1) aborted = true;
      if (r.sent >= r.total || aborted) resolve(undefined);
      else setTimeout(tick, 1);
    };
    tick();
  });
  const sendEnd = now();
  const cpu = process.cpuUsage(cpu0);
  const driverCpu = (cpu.user + cpu.system) / 1000 / Math.max(1, sendEnd - wall0);
  const expected = r.sent * receivers.length;
  const graceEnd = sendEnd + o.graceMs;
  while ((r.acked < mine || r.delivered < expected) && now() < graceEnd) await sleep(20);
  lag.disable();
  r.active = false;
  run = null;
  let incomplete = 0;
  for (let i = 0; i < r.sent; i++) if (r.perPost[i] < receivers.length) incomplete++;
  return {
    type: 'result',
    driverIndex: o.driverIndex,
    scheduled: r.total,
    /** posts due by the end of the step (all drivers), and this driver's own */
    sentAll: r.sent,
    sent: mine,
    acked: r.acked,
    receivers: receivers.length,
    expected,
    delivered: r.delivered,
    lostDeliveries: expected - r.delivered,
    incompletePosts: incomplete,
    ackedInWindow: r.ackedInWindow,
    deliveredInWindow: r.deliveredInWindow,
    windowMs: Math.max(1, Math.min(sendEnd, r.windowEnd) - r.windowStart),
    aborted,
    errors: errorsSince(counters.errors, errorsBefore),
    closed: counters.closed - closedBefore,
    driverCpu,
    driverLagP99Ms: lag.percentile(99) / 1e6,
    ackHist: encode(r.ackHist),
    deliverHist: encode(r.deliverHist),
  };
}

/**
 * Sends a request on `ws` and resolves with its answer (an error frame rejects).
 * @param {WebSocket} ws @param {Record<string, unknown>} frame @returns {Promise<any>}
 */
function request(ws, frame) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${frame.type}`)), REQUEST_TIMEOUT_MS);
    const listener = (/** @type {WebSocket.RawData} */ data) => {
      const answer = JSON.parse(data.toString());
      if (answer.re !== frame.id) return;
      clearTimeout(timer);
      ws.off('message', listener);
      if (answer.type === 'error') reject(new Error(`${frame.type}: ${answer.code}`));
      else resolve(answer);
    };
    ws.on('message', listener);
    ws.send(JSON.stringify(frame));
  });
}

/**
 * A sync from `since` (a listing without it), every page.
 * @param {WebSocket} ws @param {string} since
 * @returns {Promise<{ pages: number, conversations: Map<string, any>, token: string }>}
 */
async function syncAll(ws, since) {
  let token = since;
  let pages = 0;
  const conversations = new Map();
  for (;;) {
    const page = await request(ws, { type: 'sync', id: `s${pages}`, ...(token ? { since: token } : {}) });
    pages++;
    for (const c of page.conversations) conversations.set(c.conversation_id, c);
    token = page.token;
    if (!page.has_more) return { pages, conversations, token };
  }
}

/**
 * Every event of a conversation after `afterSeq`, 100 a page. @param {WebSocket} ws
 * @param {string} conversationId @param {number} afterSeq @returns {Promise<number>} events fetched
 */
async function fetchAll(ws, conversationId, afterSeq) {
  let seq = afterSeq;
  let events = 0;
  for (let page = 0; ; page++) {
    const answer = await request(ws, {
      type: 'fetch',
      id: `f${page}`,
      conversation_id: conversationId,
      after_seq: seq,
      limit: 100,
    });
    events += answer.events.length;
    seq = Math.max(seq, ...answer.events.map((/** @type {any} */ e) => e.seq));
    if (!answer.has_more) return events;
  }
}

/**
 * Each member in turn: connect, then sync (a listing; or, resuming, from its token, then a fetch of the
 * channel's events it missed). Times the sync alone and the whole way (connect, auth, sync, fetch).
 * @param {string} url @param {string} group @param {string | undefined} resumeIn the channel, when resuming
 */
async function syncEach(url, group, resumeIn) {
  const hist = newHistogram();
  const connectedHist = newHistogram();
  let wrong = 0;
  let maxPages = 0;
  let fetched = 0;
  const members = offline.get(group) ?? [];
  for (const m of members) {
    const t0 = performance.now();
    const ws = await open(url, m.token, () => {});
    const t1 = performance.now();
    const r = await syncAll(ws, resumeIn ? m.since : '');
    hist.recordValue(Math.round((performance.now() - t1) * 1000));
    maxPages = Math.max(maxPages, r.pages);
    // The member's only conversation is the channel: a listing names it, and so does a resume after posts.
    if (r.conversations.size !== 1) wrong++;
    if (resumeIn) fetched += await fetchAll(ws, resumeIn, m.lastSeq);
    connectedHist.recordValue(Math.round((performance.now() - t0) * 1000));
    m.since = r.token;
    m.lastSeq = [...r.conversations.values()][0]?.last_seq ?? 0;
    ws.close(1000);
  }
  return {
    hist: encode(hist),
    connectedHist: encode(connectedHist),
    wrong,
    maxPages,
    fetched,
    times: members.length,
  };
}

process.on('message', async (/** @type {any} */ msg) => {
  try {
    if (msg.cmd === 'connect') process.send?.(await connectAll(msg));
    else if (msg.cmd === 'run') process.send?.(await runLoad(msg));
    else if (msg.cmd === 'first-sync') {
      const members = await Promise.all(
        msg.userIds.map(async (/** @type {string} */ userId) => ({
          userId,
          token: await signToken(msg.secret, userId),
          since: '',
          lastSeq: 0,
        })),
      );
      offline.set(msg.group, members);
      process.send?.({ type: 'synced', ...(await syncEach(msg.url, msg.group, undefined)) });
    } else if (msg.cmd === 'resume')
      process.send?.({ type: 'resumed', ...(await syncEach(msg.url, msg.group, msg.conversationId)) });
    else if (msg.cmd === 'close') {
      for (const ws of receivers) ws.close(1000);
      for (const ws of posters) ws.close(1000);
      setTimeout(() => process.exit(0), 500);
    }
  } catch (err) {
    process.send?.({ type: 'fatal', error: String(/** @type {Error} */ (err).stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
