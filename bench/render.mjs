// The web app under a busy conversation: a 10,000-message 1:1 conversation open in real Chromium
// (1440x900), its whole history loaded into the page by scrolling to the top, then a message arriving
// every 50 ms for 20 s. Records every frame's time (requestAnimationFrame deltas) into a histogram, and
// the long tasks (PerformanceObserver 'longtask', over 50 ms). The server runs in its own process
// (bench/targets.mjs), the sender is a NatterClient in this process, Chromium its own processes.
// Writes its section of docs/benchmarks.md and bench/results/render.json.
//
//   npm run bench:render [-- --seconds 20] [-- --history 10000] [-- --no-doc]
//   npm run bench:render -- --before-web /elsewhere/packages/web/dist
//     also measures another build of the web app (say main's), served by the same server.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';
import { NatterClient } from '../packages/client/dist/index.js';
import { newHistogram } from './histogram.mjs';
import { machineInfo } from './report.mjs';
import { ROOT, signToken, sleep, startTarget } from './targets.mjs';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    history: { type: 'string', default: '10000' },
    'interval-ms': { type: 'string', default: '50' },
    'before-web': { type: 'string' },
    'no-doc': { type: 'boolean', default: false },
  },
});
const SECONDS = Number(args.seconds);
const HISTORY = Number(args.history);
const INTERVAL_MS = Number(args['interval-ms']);
const VIEWPORT = { width: 1440, height: 900 };
const START = '<!-- render:start (generated; `npm run bench:render` replaces just this block) -->';
const END = '<!-- render:end -->';
const TITLE = '## 8. Web app: rendering a busy 10,000-message conversation';

/** Frame times and long tasks, recorded in the page while `window.__measuring` is set. */
const RECORDER = `(() => {
  window.__frames = [];
  window.__longTasks = [];
  new PerformanceObserver((list) => {
    if (window.__measuring) for (const e of list.getEntries()) window.__longTasks.push(e.duration);
  }).observe({ type: 'longtask', buffered: false });
  window.__startFrames = () => {
    window.__measuring = true;
    let last;
    const tick = (t) => {
      if (last !== undefined) window.__frames.push(t - last);
      last = t;
      if (window.__measuring) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  };
})()`;

/** A connected client of `userId` (its own WebSocket), live. */
async function liveClient(target, userId) {
  const client = new NatterClient({
    url: target.wsUrl,
    token: () => signToken(target.secret, userId),
    webSocket: (url) => new WebSocket(url),
  });
  await client.connect();
  while (client.state !== 'live') await sleep(20);
  return client;
}

/** Sends `count` messages and resolves once every one is acked. */
async function sendAll(client, conversationId, texts) {
  let acked = 0;
  const off = client.on('outbox', (entry) => {
    if (entry.state === 'sent') acked += 1;
  });
  for (const text of texts) await client.send(conversationId, text);
  while (acked < texts.length) await sleep(50);
  off();
}

/** One measurement: a fresh server, the history, the page, and the live messages. */
async function measure(browser, label, webDir) {
  const target = await startTarget('natter', webDir ? { env: { NATTER_WEB_DIR: webDir } } : {});
  try {
    const [reader, writer] = ['bench-reader', 'bench-writer'];
    const res = await fetch(`${target.httpUrl}/v1/conversations/direct`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await signToken(target.secret, writer)}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ user_id: reader }),
    });
    const conversationId = (await res.json()).conversation.conversation_id;
    const sender = await liveClient(target, writer);
    const filled = Date.now();
    await sendAll(
      sender,
      conversationId,
      Array.from(
        { length: HISTORY },
        (_, i) => `history ${i + 1}: ${'lorem ipsum dolor sit amet '.repeat(1 + (i % 4))}`,
      ),
    );
    console.error(`[${label}] ${HISTORY} messages stored in ${((Date.now() - filled) / 1000).toFixed(1)} s`);
    // The reader has read them all: the chat opens at the bottom.
    const readerClient = await liveClient(target, reader);
    readerClient.markRead(conversationId, 1_000_000);
    await sleep(300);
    readerClient.close();

    const context = await browser.newContext({ viewport: VIEWPORT });
    const page = await context.newPage();
    const session = { token: await signToken(target.secret, reader), userId: reader, username: reader };
    await page.addInitScript(
      (stored) => localStorage.setItem('natter.session', JSON.stringify(stored)),
      session,
    );
    await page.addInitScript(RECORDER);
    await page.goto(`${target.httpUrl}/#c=${encodeURIComponent(conversationId)}`);
    await page.locator('.message').first().waitFor({ timeout: 60_000 });

    // Scroll to the top until the first message is held: the whole history is in the page's state.
    const loadStarted = Date.now();
    await page.evaluate(async () => {
      const log = document.querySelector('[role=log]');
      const first = () =>
        [...document.querySelectorAll('.bubble-text')].some((e) => e.textContent?.startsWith('history 1:'));
      while (!first()) {
        log.scrollTop = 0;
        log.dispatchEvent(new Event('scroll'));
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      log.scrollTop = log.scrollHeight;
    });
    const historyLoadS = (Date.now() - loadStarted) / 1000;
    console.error(`[${label}] history loaded into the page in ${historyLoadS.toFixed(1)} s`);
    await sleep(1500);

    // A message every INTERVAL_MS, on schedule, while the page records its frames.
    await page.evaluate('window.__startFrames()');
    const count = Math.round((SECONDS * 1000) / INTERVAL_MS);
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const due = start + i * INTERVAL_MS;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      void sender.send(conversationId, `live ${i + 1}`);
    }
    await page
      .locator('.bubble-text', { hasText: new RegExp(`^live ${count}$`) })
      .waitFor({ timeout: 30_000 });
    const { frames, longTasks, domRows } = await page.evaluate(() => {
      window.__measuring = false;
      return {
        frames: window.__frames,
        longTasks: window.__longTasks,
        domRows: document.querySelectorAll('.message-row').length,
      };
    });
    sender.close();
    await context.close();

    const histogram = newHistogram();
    for (const ms of frames) histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
    const at = (p) => Math.round(histogram.getValueAtPercentile(p) / 100) / 10;
    const result = {
      label,
      messagesHeld: HISTORY + count,
      liveMessages: count,
      historyLoadS: Math.round(historyLoadS * 10) / 10,
      frames: frames.length,
      frameMs: { p50: at(50), p95: at(95), p99: at(99), max: Math.round(histogram.maxValue / 100) / 10 },
      framesOver33ms: frames.filter((ms) => ms > 33.4).length,
      longTasks: longTasks.length,
      longTaskMs: Math.round(longTasks.reduce((a, b) => a + b, 0)),
      domRows,
    };
    console.log(JSON.stringify(result));
    return result;
  } finally {
    await target.stop();
  }
}

async function main() {
  const started = new Date();
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--no-first-run',
    ],
  });
  const results = {
    date: started.toISOString(),
    machine: machineInfo(),
    history: HISTORY,
    seconds: SECONDS,
    intervalMs: INTERVAL_MS,
    runs: [],
  };
  try {
    if (args['before-web']) results.runs.push(await measure(browser, 'before', args['before-web']));
    results.runs.push(await measure(browser, 'this build', undefined));
  } finally {
    await browser.close();
  }
  if (args['no-doc']) return;
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench/results/render.json'), `${JSON.stringify(results, null, 2)}\n`);
  const docPath = join(ROOT, 'docs/benchmarks.md');
  const doc = readFileSync(docPath, 'utf8');
  const block = renderBlock(results);
  const [a, b] = [doc.indexOf(START), doc.indexOf(END)];
  const next =
    a >= 0 && b > a
      ? `${doc.slice(0, a + START.length)}\n${block}\n${doc.slice(b)}`
      : `${doc.trimEnd()}\n\n${TITLE}\n\n${START}\n${block}\n${END}\n`;
  writeFileSync(docPath, next);
  console.log('wrote docs/benchmarks.md (render block) and bench/results/render.json');
}

/** @param {any} r */
function renderBlock(r) {
  return [
    `> Run on ${r.date.slice(0, 16).replace('T', ' ')} UTC by \`npm run bench:render\` (bench/render.mjs), on ${r.machine.cores} x ${r.machine.cpu}, Node.js ${r.machine.node}, Debian Chromium (headless, no GPU). Raw numbers: bench/results/render.json.`,
    '',
    `- A 1:1 conversation with ${r.history.toLocaleString('en')} messages, opened in the web app at 1440x900; the page scrolls to the top until the first message is held (the whole history in the app's state), then back to the bottom. Then one message arrives every ${r.intervalMs} ms for ${r.seconds} s (sent by another process's client through the server, \`node packages/server/dist/main.js\` in its own process on 127.0.0.1).`,
    '- Frame time = the delta between consecutive `requestAnimationFrame` callbacks while the messages arrive (16.7 ms at 60 fps); a frame over 33 ms dropped at least one. Long tasks: `PerformanceObserver` entries (main-thread tasks over 50 ms).',
    '- The machine has 2 cores shared with other work (tests of other branches ran meanwhile): compare rows of one run.',
    '',
    '| build | frame time p50 / p95 / p99 / max | frames over 33 ms | long tasks (total) | history load | message rows in the DOM |',
    '|---|--:|--:|--:|--:|--:|',
    ...r.runs.map(
      (/** @type {any} */ x) =>
        `| ${x.label} | **${x.frameMs.p50} / ${x.frameMs.p95} / ${x.frameMs.p99}** / ${x.frameMs.max} ms | ${x.framesOver33ms} of ${x.frames} | ${x.longTasks} (${x.longTaskMs} ms) | ${x.historyLoadS} s | ${x.domRows} |`,
    ),
  ].join('\n');
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
