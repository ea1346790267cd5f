// The web app's first load on a slow mobile network: time from navigation to an interactive login
// form (the "Log in" button rendered and enabled), and the bytes transferred, over N cold loads
// (a fresh browser context each time: empty HTTP cache, no service worker). The server runs in its
// own process (bench/targets.mjs); Chromium throttles through the DevTools protocol with the
// DevTools "Slow 4G" preset. Writes its block of docs/benchmarks.md and bench/results/first-load.json.
//
//   npm run bench:first-load [-- --runs 15] [-- --no-doc]
//   BENCH_NATTER_MAIN=/elsewhere/packages/server/dist/main.js node bench/first-load.mjs --no-doc
//     measures another build (e.g. an older commit) without touching the doc.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { machineInfo, spliceFirstLoad } from './report.mjs';
import { NATTER_MAIN, ROOT, startTarget } from './targets.mjs';

const { values: args } = parseArgs({
  options: { runs: { type: 'string', default: '15' }, 'no-doc': { type: 'boolean', default: false } },
});
const RUNS = Number(args.runs);

/**
 * Chrome DevTools' "Slow 4G" preset (the former "Fast 3G"), as DevTools sets it: 1.6 Mbit/s down and
 * 750 kbit/s up at 90% efficiency, and a 150 ms round trip applied per request as 150 x 3.75 ms
 * (DevTools' allowance for the TCP/TLS round trips that request-level throttling does not model).
 */
const SLOW_4G = {
  offline: false,
  downloadThroughput: ((1.6 * 1000 * 1000) / 8) * 0.9,
  uploadThroughput: ((750 * 1000) / 8) * 0.9,
  latency: 150 * 3.75,
};
const PROFILES = [
  { name: 'Slow 4G', cpuSlowdown: 1 },
  { name: 'Slow 4G + 4x CPU slowdown (DevTools mobile)', cpuSlowdown: 4 },
];

/** Records, in the page, when the login form becomes usable (ms since navigation start). */
const WATCH_LOGIN = `(() => {
  const ready = () => [...document.querySelectorAll('button[type=submit]')]
    .some((b) => b.textContent === 'Log in' && !b.disabled);
  new MutationObserver((_, observer) => {
    if (!ready()) return;
    window.__loginReadyAt = performance.now();
    observer.disconnect();
  }).observe(document, { childList: true, subtree: true, attributes: true });
})()`;

/** @param {import('playwright-core').Browser} browser @param {string} url @param {number} cpuSlowdown */
async function coldLoad(browser, url, cpuSlowdown) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', SLOW_4G);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: cpuSlowdown });
  /** @type {Map<string, string>} */
  const types = new Map();
  const bytes = { total: 0, script: 0 };
  const errors = [];
  cdp.on('Network.responseReceived', (e) => types.set(e.requestId, e.type));
  cdp.on('Network.loadingFinished', (e) => {
    bytes.total += e.encodedDataLength;
    if (types.get(e.requestId) === 'Script') bytes.script += e.encodedDataLength;
  });
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.addInitScript(WATCH_LOGIN);
  await page.goto(url);
  await page.waitForFunction('window.__loginReadyAt !== undefined', undefined, { timeout: 120_000 });
  const loginMs = await page.evaluate('window.__loginReadyAt');
  await context.close();
  return { loginMs: /** @type {number} */ (loginMs), ...bytes, errors: errors.length };
}

/** Nearest-rank percentile of a sorted list. @param {number[]} sorted @param {number} p */
const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/** @param {Array<Awaited<ReturnType<typeof coldLoad>>>} loads */
function summarize(loads) {
  const ms = loads.map((l) => l.loginMs).sort((a, b) => a - b);
  return {
    runs: loads.length,
    loginMs: { min: ms[0], p50: percentile(ms, 50), p90: percentile(ms, 90), max: ms[ms.length - 1] },
    scriptBytes: Math.max(...loads.map((l) => l.script)),
    totalBytes: Math.max(...loads.map((l) => l.total)),
    consoleErrors: Math.max(...loads.map((l) => l.errors)),
  };
}

async function main() {
  const started = new Date();
  const target = await startTarget('natter');
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
  const results = { date: started.toISOString(), machine: machineInfo(), server: NATTER_MAIN, runs: RUNS };
  try {
    results.profiles = [];
    for (const profile of PROFILES) {
      const loads = [];
      for (let i = 0; i < RUNS; i++) loads.push(await coldLoad(browser, target.httpUrl, profile.cpuSlowdown));
      const summary = { profile: profile.name, ...summarize(loads) };
      console.log(JSON.stringify(summary));
      results.profiles.push(summary);
    }
  } finally {
    await browser.close();
    await target.stop();
  }
  if (args['no-doc']) return;
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench/results/first-load.json'), `${JSON.stringify(results, null, 2)}\n`);
  const docPath = join(ROOT, 'docs/benchmarks.md');
  writeFileSync(docPath, spliceFirstLoad(readFileSync(docPath, 'utf8'), renderBlock(results)));
  console.log('wrote docs/benchmarks.md (first-load block) and bench/results/first-load.json');
}

/** @param {any} r */
function renderBlock(r) {
  const kb = (/** @type {number} */ n) => `${(n / 1024).toFixed(1)} KB`;
  const s = (/** @type {number} */ n) => `${(n / 1000).toFixed(2)} s`;
  return [
    `> Run on ${r.date.slice(0, 16).replace('T', ' ')} UTC by \`npm run bench:first-load\` (bench/first-load.mjs), on ${r.machine.cores} x ${r.machine.cpu}, Node.js ${r.machine.node}, Debian Chromium (headless). Raw numbers: bench/results/first-load.json.`,
    '',
    `- ${r.runs} cold loads per profile: each in a new browser context (empty HTTP cache, no service worker), the server (\`node packages/server/dist/main.js\`, its own process) on 127.0.0.1. Throttled through the DevTools protocol with DevTools' "Slow 4G" preset: 1.6 Mbit/s down and 750 kbit/s up at 90% (180,000 and 84,375 bytes/s), 150 ms RTT applied as 562.5 ms per request (150 x 3.75, as DevTools does).`,
    '- "To login" = from navigation start to the "Log in" button being rendered and enabled (a MutationObserver in the page). Bytes are as transferred (encoded, headers included), the largest of the runs.',
    '- The machine has 2 cores shared with other work: the CPU-slowed row especially is noisy. Compare runs taken at the same time.',
    '',
    '| profile | to login p50 / p90 / min / max | JavaScript transferred | all transferred | console errors |',
    '|---|--:|--:|--:|--:|',
    ...r.profiles.map(
      (/** @type {any} */ p) =>
        `| ${p.profile} | **${s(p.loginMs.p50)}** / ${s(p.loginMs.p90)} / ${s(p.loginMs.min)} / ${s(p.loginMs.max)} | ${kb(p.scriptBytes)} | ${kb(p.totalBytes)} | ${p.consoleErrors} |`,
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
