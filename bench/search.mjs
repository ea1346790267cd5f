// `npm run bench:search`: message search latency over 1,000,000 stored messages, on each store.
// Each store is filled by bulk inserts (bench/search-fill.mjs), then the server runs in its own
// process and this process drives it open-loop: searches scheduled at a fixed rate from several
// searchers' WebSockets, latency measured from each search's scheduled time to its answer, per
// query class (rare, medium, common words, two words, a prefix), percentiles from HdrHistograms.
// Prints JSON and, with --write, replaces the search block of docs/benchmarks.md.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import WebSocket from 'ws';
import { newHistogram, summarize } from './histogram.mjs';
import { sendOpenLoop, sleep } from './open-loop.mjs';
import { machineInfo, SEARCH_TITLE } from './report.mjs';
import { random } from './search-corpus.mjs';
import { fillPostgres, fillSqlite } from './search-fill.mjs';
import { ROOT, signToken, startTarget } from './targets.mjs';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000000' },
    rate: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '30' },
    stores: { type: 'string', default: 'sqlite,postgres' },
    write: { type: 'boolean', default: false },
  },
});
const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const CONVERSATIONS = 2_000;
/** @type {import('./search-corpus.mjs').CorpusShape} */
const SHAPE = {
  conversations: CONVERSATIONS,
  messagesPerConversation: Math.round(Number(args.messages) / CONVERSATIONS),
  users: 2_000,
  searchers: 20,
  conversationsPerSearcher: 50,
  vocabulary: 50_000,
};
const CLASSES = ['rare', 'medium', 'common', 'two words', 'prefix'];

/** The query of search i, of class CLASSES[i % 5], from the vocabulary (index = frequency rank). */
function queryOf(/** @type {string[]} */ words, /** @type {number} */ i, /** @type {() => number} */ next) {
  const between = (/** @type {number} */ lo, /** @type {number} */ hi) =>
    words[lo + Math.floor(next() * (hi - lo))];
  switch (CLASSES[i % CLASSES.length]) {
    case 'rare':
      return between(20_000, 40_000);
    case 'medium':
      return between(300, 3_000);
    case 'common':
      return between(0, 10);
    case 'two words':
      return `${between(0, 10)} ${between(300, 3_000)}`;
    default:
      return `${between(300, 3_000)?.slice(0, 4)}*`;
  }
}

/** @param {string} wsUrl @param {string} token */
function connect(wsUrl, token) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
    /** @type {Map<string, (frame: any) => void>} */
    const waiting = new Map();
    ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', id: 'auth', token })));
    ws.on('error', reject);
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type === 'ping') ws.send('{"type":"pong"}');
      else if (frame.re === 'auth') frame.type === 'ready' ? resolve(client) : reject(new Error(frame.code));
      else if (frame.re) waiting.get(frame.re)?.(frame);
    });
    const client = {
      /** @param {string} id @param {string} query @param {(frame: any) => void} done */
      search(id, query, done) {
        waiting.set(id, (frame) => {
          waiting.delete(id);
          done(frame);
        });
        ws.send(JSON.stringify({ type: 'search', id, query, limit: 20 }));
      },
      close: () => ws.close(1000),
    };
  });
}

/** @param {import('./targets.mjs').Target} target @param {string[]} words */
async function drive(target, words) {
  const clients = await Promise.all(
    Array.from({ length: SHAPE.searchers }, async (_, s) =>
      connect(target.wsUrl, await signToken(target.secret, `bench-s${s}`)),
    ),
  );
  const histograms = Object.fromEntries(CLASSES.map((c) => [c, newHistogram()]));
  const all = newHistogram();
  /** @type {Record<string, number>} */
  const errors = {};
  const hits = Object.fromEntries(CLASSES.map((c) => [c, 0]));
  const next = random(17);
  const rate = Number(args.rate);
  const total = rate * Number(args.seconds);
  const run = { sent: 0, windowStart: 0, total, intervalMs: 1000 / rate };
  let answered = 0;
  const startPerf = performance.now();
  await sendOpenLoop({
    run,
    startPerf,
    behind: () => false,
    send(i) {
      const scheduled = startPerf + i * run.intervalMs;
      const cls = /** @type {string} */ (CLASSES[i % CLASSES.length]);
      clients[i % clients.length].search(`q${i}`, queryOf(words, i, next), (frame) => {
        const us = Math.max(1, Math.round((performance.now() - scheduled) * 1000));
        histograms[cls].recordValue(us);
        all.recordValue(us);
        if (frame.type === 'error') errors[frame.code] = (errors[frame.code] ?? 0) + 1;
        else hits[cls] += frame.results.length;
        answered += 1;
      });
    },
  });
  const deadline = Date.now() + 30_000;
  while (answered < total && Date.now() < deadline) await sleep(20);
  for (const c of clients) c.close();
  return {
    offered: total,
    answered,
    errors,
    overall: summarize(all),
    classes: Object.fromEntries(
      CLASSES.map((c) => [
        c,
        {
          ...summarize(histograms[c]),
          p95: summarize95(histograms[c]),
          hitsPerSearch: hits[c] / Math.max(1, histograms[c].totalCount),
        },
      ]),
    ),
    overallP95: summarize95(all),
  };
}

/** @param {import('hdr-histogram-js').Histogram} h */
function summarize95(h) {
  return h.totalCount === 0 ? Number.NaN : Math.round(h.getValueAtPercentile(95)) / 1000;
}

async function benchSqlite() {
  const dataDir = await mkdtemp(join(tmpdir(), 'natter-bench-search-'));
  const filled = performance.now();
  const words = await fillSqlite(dataDir, SHAPE);
  const fillSeconds = (performance.now() - filled) / 1000;
  const target = await startTarget('natter', { env: { NATTER_DATA_DIR: dataDir, ...LIMITS } });
  try {
    return { store: 'SQLite', fillSeconds, ...(await drive(target, words)) };
  } finally {
    await target.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function benchPostgres() {
  const name = `natter_bench_search_${randomBytes(4).toString('hex')}`;
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  const env = { NATTER_STORE: 'postgres', DATABASE_URL: url.toString(), ...LIMITS };
  try {
    // The server migrates the empty database; then it is filled with the server stopped.
    await (await startTarget('natter', { env })).stop();
    const filled = performance.now();
    const words = await fillPostgres(url.toString(), SHAPE);
    const fillSeconds = (performance.now() - filled) / 1000;
    const target = await startTarget('natter', { env });
    try {
      return { store: 'PostgreSQL', fillSeconds, ...(await drive(target, words)) };
    } finally {
      await target.stop();
    }
  } finally {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end({ timeout: 2 });
  }
}

const LIMITS = {
  NATTER_SEARCHES_PER_SECOND: '1000000',
  NATTER_SEARCH_BURST: '1000000',
  NATTER_MAX_READS_IN_FLIGHT: '1000',
};

/** @param {any[]} results */
function render(results) {
  const m = machineInfo();
  const ms = (/** @type {number} */ v) => (Number.isNaN(v) ? '—' : v.toFixed(1));
  const lines = [
    '<!-- search:start (generated by `npm run bench:search -- --write`) -->',
    `Run ${new Date().toISOString().slice(0, 10)} on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), Node ${m.node}, shared with other test runs; ${Number(args.messages).toLocaleString('en')} messages in ${CONVERSATIONS.toLocaleString('en')} group conversations (5 members + searchers), words Zipf(1.07) over a 50,000-word vocabulary, 4-17 words a message; ${SHAPE.searchers} searchers each a member of ${SHAPE.conversationsPerSearcher} conversations (~${Math.round((SHAPE.conversationsPerSearcher / CONVERSATIONS) * Number(args.messages)).toLocaleString('en')} visible messages each). Open loop at ${args.rate} searches/s for ${args.seconds} s per store, classes in turn, limit 20; latency from the scheduled send time to the answer, ms.`,
    '',
    '| Store | Class | p50 | p95 | p99 | max | results/search |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.store} | **all** | ${ms(r.overall.p50)} | **${ms(r.overallP95)}** | ${ms(r.overall.p99)} | ${ms(r.overall.max)} | |`,
    );
    for (const [cls, s] of Object.entries(r.classes)) {
      lines.push(
        `| ${r.store} | ${cls} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.p99)} | ${ms(s.max)} | ${s.hitsPerSearch.toFixed(1)} |`,
      );
    }
  }
  lines.push('');
  for (const r of results) {
    const errors =
      Object.entries(r.errors)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none';
    lines.push(
      `- ${r.store}: filled in ${Math.round(r.fillSeconds)} s; ${r.answered}/${r.offered} answered; errors: ${errors}.`,
    );
  }
  lines.push('<!-- search:end -->');
  return lines.join('\n');
}

const results = [];
for (const store of String(args.stores).split(',')) {
  results.push(store === 'postgres' ? await benchPostgres() : await benchSqlite());
  console.log(JSON.stringify(results.at(-1)));
}
const block = render(results);
console.log(block);
if (args.write) {
  const file = join(ROOT, 'docs/benchmarks.md');
  const doc = await readFile(file, 'utf8');
  const [a, b] = [doc.indexOf('<!-- search:start'), doc.indexOf('<!-- search:end -->')];
  const next =
    a >= 0 && b > a
      ? doc.slice(0, a) + block + doc.slice(b + '<!-- search:end -->'.length)
      : `${doc.trimEnd()}\n\n${SEARCH_TITLE}\n\n${block}\n`;
  await writeFile(file, next);
}
