// Resume driver, run as a child process (fork) by bench/resume.mjs and steered over IPC. It holds the
// account's WebSocket and times requests from the moment each frame is written to the moment its answer
// is parsed (the client's view of one round trip).
//   parent -> {cmd:'open', url, token}              <- {type:'opened'}
//   parent -> {cmd:'seed', conversationIds}         one message from the account into each conversation
//             (pipelined, 64 in flight)            <- {type:'seeded', acked, ms}
//   parent -> {cmd:'initial', times}                `times` full listings (sync without a token, every
//             page)                                <- {type:'initial', hist, pages, conversations, token}
//   parent -> {cmd:'change', url, writers:[{token, conversation_id}]}  each writer (another member)
//             sends one message into its conversation over a socket of its own  <- {type:'changed'}
//   parent -> {cmd:'resume', since, times, expect}  `times` syncs with the token `since`, one after the
//             other; each must list exactly `expect` conversations  <- {type:'resumed', hist, reconnectHist,
//             wrong, maxPages}
//   parent -> {cmd:'close'}
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { encode, newHistogram } from './histogram.mjs';

const TIMEOUT_MS = 30_000;
/** The account's socket. @type {Peer | null} */
let account = null;

/** One authenticated socket with request/answer matching by `id`/`re`. */
class Peer {
  /** @param {WebSocket} ws */
  constructor(ws) {
    this.ws = ws;
    this.nextId = 0;
    /** @type {Map<string, (frame: any) => void>} */
    this.waiting = new Map();
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type === 'ping') ws.send('{"type":"pong"}');
      const key = frame.re ?? (frame.type === 'ack' ? frame.client_msg_id : undefined);
      const resolve = key === undefined ? undefined : this.waiting.get(key);
      if (resolve) {
        this.waiting.delete(key);
        resolve(frame);
      }
    });
  }

  /** @param {string} url @param {string} token @returns {Promise<Peer>} */
  static open(url, token) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error('timeout waiting for ready'));
      }, TIMEOUT_MS);
      ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', id: 'auth', token, device_id: 'bench' })));
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      const peer = new Peer(ws);
      peer.waiting.set('auth', (frame) => {
        clearTimeout(timer);
        if (frame.type === 'ready') resolve(peer);
        else reject(new Error(`auth answered ${JSON.stringify(frame).slice(0, 200)}`));
      });
    });
  }

  /** Sends a request and resolves with its answer (an error frame rejects). @param {Record<string, unknown>} frame */
  request(frame) {
    const id = `r${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${frame.type}`)), TIMEOUT_MS);
      this.waiting.set(id, (answer) => {
        clearTimeout(timer);
        if (answer.type === 'error') reject(new Error(`${frame.type}: ${answer.code} ${answer.message}`));
        else resolve(answer);
      });
      this.ws.send(JSON.stringify({ ...frame, id }));
    });
  }

  close() {
    this.ws.close(1000);
  }
}

/**
 * A sync from `since` (or a listing), every page. @param {Peer} peer @param {string | undefined} since
 * @returns {Promise<{ pages: number, conversations: number, token: string }>}
 */
async function syncAll(peer, since) {
  let token = since;
  let pages = 0;
  let conversations = 0;
  for (;;) {
    const page = /** @type {any} */ (
      await peer.request({ type: 'sync', ...(token ? { since: token } : {}) })
    );
    pages++;
    conversations += page.conversations.length;
    token = page.token;
    if (!page.has_more) return { pages, conversations, token: /** @type {string} */ (token) };
  }
}

/** @param {string[]} ids */
async function seed(ids) {
  const peer = /** @type {Peer} */ (account);
  const t0 = performance.now();
  let next = 0;
  let acked = 0;
  const worker = async () => {
    while (next < ids.length) {
      const i = next++;
      await peer.request({
        type: 'send',
        conversation_id: ids[i],
        client_msg_id: `seed-${i}`,
        body: `hello ${i}`,
      });
      acked++;
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  return { type: 'seeded', acked, ms: Math.round(performance.now() - t0) };
}

/** @param {number} times */
async function initial(times) {
  const peer = /** @type {Peer} */ (account);
  const hist = newHistogram();
  let last = { pages: 0, conversations: 0, token: '' };
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    last = await syncAll(peer, undefined);
    hist.recordValue(Math.round((performance.now() - t0) * 1000));
  }
  return { type: 'initial', hist: encode(hist), ...last };
}

/** @param {{url: string, writers: {token: string, conversation_id: string}[]}} msg */
async function change(msg) {
  for (const [i, w] of msg.writers.entries()) {
    const peer = await Peer.open(msg.url, w.token);
    await peer.request({
      type: 'send',
      conversation_id: w.conversation_id,
      client_msg_id: `change-${Date.now()}-${i}`,
      body: 'news',
    });
    peer.close();
  }
  return { type: 'changed' };
}

/** @param {{url: string, token: string, since: string, times: number, reconnects: number, expect: number}} msg */
async function resume(msg) {
  const peer = /** @type {Peer} */ (account);
  const hist = newHistogram();
  const reconnectHist = newHistogram();
  let wrong = 0;
  let maxPages = 0;
  for (let i = 0; i < msg.times; i++) {
    const t0 = performance.now();
    const r = await syncAll(peer, msg.since);
    hist.recordValue(Math.round((performance.now() - t0) * 1000));
    if (r.conversations !== msg.expect) wrong++;
    maxPages = Math.max(maxPages, r.pages);
  }
  // The whole way back after a reconnect: a new socket, auth -> ready, then the resume.
  for (let i = 0; i < msg.reconnects; i++) {
    const t0 = performance.now();
    const fresh = await Peer.open(msg.url, msg.token);
    const r = await syncAll(fresh, msg.since);
    reconnectHist.recordValue(Math.round((performance.now() - t0) * 1000));
    fresh.close();
    if (r.conversations !== msg.expect) wrong++;
  }
  return { type: 'resumed', hist: encode(hist), reconnectHist: encode(reconnectHist), wrong, maxPages };
}

process.on('message', async (/** @type {any} */ msg) => {
  try {
    if (msg.cmd === 'open') {
      account = await Peer.open(msg.url, msg.token);
      process.send?.({ type: 'opened' });
    } else if (msg.cmd === 'seed') process.send?.(await seed(msg.conversationIds));
    else if (msg.cmd === 'initial') process.send?.(await initial(msg.times));
    else if (msg.cmd === 'change') process.send?.(await change(msg));
    else if (msg.cmd === 'resume') process.send?.(await resume(msg));
    else if (msg.cmd === 'close') {
      account?.close();
      setTimeout(() => process.exit(0), 200);
    }
  } catch (err) {
    process.send?.({ type: 'fatal', error: String(/** @type {Error} */ (err).stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
