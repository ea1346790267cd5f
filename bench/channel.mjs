// The `channel` scenario of `npm run bench`: one channel of 100,000 members, on SQLite and on PostgreSQL.
// Per store: the time to add the members (the fastest path the API has: 1,000 at creation, the rest one
// POST /v1/conversations/:id/members each, many at a time), the cost of an offline member's first sync
// (no token) and of its resume after K posts (sync from its token, then a fetch of what it missed), timed
// by a driver and on the server (`natter_read_seconds` in /metrics); then up to N members connected
// (bench/channel-driver.mjs, 10,000 sockets a process) and an open-loop step-up of posts from a few
// posters: posts/s and deliveries/s sustained, p99 post -> delivery (from the scheduled time), server CPU
// and peak RSS. Everything on 127.0.0.1.
import { readFileSync, rmSync } from 'node:fs';
import { createDatabase, dropDatabase, stopNodes } from './cluster.mjs';
import { mergeEncoded, summarize } from './histogram.mjs';
import { serverReadTime } from './resume.mjs';
import { rssSampler } from './storm.mjs';
import { forkDriver, procStats, scrapeMetrics, signToken, sleep, startTarget } from './targets.mjs';

/** The descriptor hard limit of this process (the server and the drivers get the same). */
function fdHardLimit() {
  const line = /Max open files\s+(\d+)\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  return Number(line?.[2] ?? Number.POSITIVE_INFINITY);
}

/**
 * @param {boolean} quick @param {number | undefined} online members connected (default: what fits)
 * @param {number} [members] the channel's size
 */
export function channelConfig(quick, online, members = 100_000) {
  const posters = 4;
  // The server holds one descriptor per socket plus its own (keep 500 spare for them and the syncs).
  const fits = fdHardLimit() - 500 - posters;
  return {
    members,
    requestedOnline: online ?? (quick ? 2000 : 19_000),
    online: Math.max(1, Math.min(online ?? (quick ? 2000 : 19_000), fits)),
    posters,
    perDriver: 10_000,
    connectConcurrency: 100,
    /** connecting the members stops after this (the members connected by then take part) */
    connectBudgetMs: quick ? 60_000 : 120_000,
    /** members named at creation (the API's most), then one add request each, this many at a time */
    atCreation: 1000,
    addConcurrency: 128,
    /**
     * offline members of each group whose first sync (no token) and resume (after `resumeAfterPosts`
     * posts) are timed: `early` joined at the channel's creation (about 99,000 membership events
     * before their first sync), `late` were the last added
     */
    syncMembers: quick ? 5 : 10,
    resumeAfterPosts: 100,
    bodyBytes: 100,
    /** deliveries/s offered at each step; posts/s = deliveries / connected members */
    deliveryRates: [20_000, 50_000, 100_000, 150_000, 200_000, 300_000, 400_000],
    step: { durationMs: quick ? 4000 : 6000, warmupMs: 1500 },
    graceMs: 2000,
    maxBacklogMs: 3000,
    /**
     * sustained = posts acked >= 95% of offered, deliveries >= 95% of posts x connected members, p99
     * post -> delivery <= 1 s. A post reaches its connected members one socket write after another, in
     * one turn of the event loop (about 10 µs a member on this machine: 0.2 s for 19,000), so the 200 ms
     * bar of the 1:1 and group scenarios would measure the fan-out of a single post.
     */
    sustain: { minRatio: 0.95, maxP99Ms: 1000 },
    /** per store, for the step-up (adding the members is not bounded by it): no step begins after this */
    stepUpBudgetMs: quick ? 45_000 : 80_000,
    stores: /** @type {('sqlite'|'postgres')[]} */ (['sqlite', 'postgres']),
  };
}

/** @param {number} i */
const memberId = (i) => `bench-chm${i}`;

/**
 * Who is who among the plain members (neither the owner nor a poster), by index: the early offline
 * group first (named at creation), then the connected ones, the late offline group last.
 * @param {ReturnType<typeof channelConfig>} cfg
 */
function roles(cfg) {
  const plain = cfg.members - 1 - cfg.posters;
  return {
    plain,
    early: Array.from({ length: cfg.syncMembers }, (_, k) => memberId(k)),
    late: Array.from({ length: cfg.syncMembers }, (_, k) => memberId(plain - 1 - k)),
    /** @param {number} k */
    online: (k) => memberId(cfg.syncMembers + k),
  };
}

/**
 * Creates the channel with `atCreation` members and adds the rest one request each, `addConcurrency` at
 * a time. @param {import('./targets.mjs').Target} target @param {ReturnType<typeof channelConfig>} cfg
 * @param {string[]} posterIds @param {(msg: string) => void} log
 * @returns {Promise<{ conversationId: string, createMs: number, addMs: number, atCreation: number, added: number }>}
 */
async function makeChannel(target, cfg, posterIds, log) {
  const owner = await signToken(target.secret, 'bench-ch-owner');
  const headers = { authorization: `Bearer ${owner}`, 'content-type': 'application/json' };
  const { plain } = roles(cfg);
  const first = Math.min(plain, cfg.atCreation - posterIds.length);
  const t0 = Date.now();
  const res = await fetch(`${target.httpUrl}/v1/conversations`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      title: 'bench channel',
      kind: 'channel',
      posting: 'everyone',
      member_ids: [...posterIds, ...Array.from({ length: first }, (_, i) => memberId(i))],
    }),
  });
  const body = await res.json().catch(() => ({}));
  const conversationId = body?.conversation?.conversation_id;
  if (res.status >= 300 || typeof conversationId !== 'string')
    throw new Error(`creating the channel -> ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
  const t1 = Date.now();
  let next = first;
  let done = 0;
  let mark = { at: t1, done: 0 };
  const worker = async () => {
    while (next < plain) {
      const i = next++;
      for (let attempt = 0; ; attempt++) {
        const r = await fetch(`${target.httpUrl}/v1/conversations/${conversationId}/members`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ user_id: memberId(i) }),
        });
        const b = await r.json().catch(() => ({}));
        if (r.status < 300) {
          done++;
          // The rate as the channel grows: a cost per add that grows with it shows here.
          if (done % 25_000 === 0) {
            const now = Date.now();
            log(
              `${done} added, ${((25_000 * 1000) / Math.max(1, now - mark.at)).toFixed(0)}/s over the last 25,000`,
            );
            mark = { at: now, done };
          }
          break;
        }
        if (!b?.error?.retryable || attempt === 3)
          throw new Error(`adding member ${i} -> ${r.status} ${JSON.stringify(b).slice(0, 300)}`);
        await sleep(250 * (attempt + 1));
      }
    }
  };
  await Promise.all(Array.from({ length: cfg.addConcurrency }, worker));
  return {
    conversationId,
    createMs: t1 - t0,
    addMs: Date.now() - t1,
    atCreation: first + posterIds.length,
    added: plain - first,
  };
}

/**
 * One open-loop step at `rate` posts/s on every driver.
 * @param {{ target: import('./targets.mjs').Target, drivers: ReturnType<typeof forkDriver>[],
 *   cfg: ReturnType<typeof channelConfig>, conversationId: string, rate: number, durationMs: number,
 *   warmupMs: number, runId: number }} o
 */
async function runStep(o) {
  const startAt = Date.now() + 300;
  const sampleAt = async (/** @type {number} */ at) => {
    await sleep(Math.max(0, at - Date.now()));
    return { t: Date.now(), proc: procStats(o.target.pid) };
  };
  const [results, s0, s1] = await Promise.all([
    Promise.all(
      o.drivers.map((d, k) =>
        d.request(
          {
            cmd: 'run',
            runId: o.runId,
            startAt,
            rate: o.rate,
            driverIndex: k,
            drivers: o.drivers.length,
            durationMs: o.durationMs,
            warmupMs: o.warmupMs,
            graceMs: o.cfg.graceMs,
            bodyBytes: o.cfg.bodyBytes,
            maxBacklogMs: o.cfg.maxBacklogMs,
            conversationId: o.conversationId,
          },
          o.durationMs + o.cfg.graceMs + 30_000,
        ),
      ),
    ),
    sampleAt(startAt + o.warmupMs),
    sampleAt(startAt + o.durationMs),
  ]);
  const sum = (/** @type {string} */ k) => results.reduce((a, r) => a + r[k], 0);
  /** @type {Record<string, number>} */
  const errors = {};
  for (const r of results) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
  const receivers = sum('receivers');
  const seconds = Math.max(0.001, (s1.t - s0.t) / 1000);
  const out = {
    offeredRate: o.rate,
    offeredDeliveryRate: o.rate * receivers,
    receivers,
    sent: sum('sent'),
    acked: sum('acked'),
    ackedRate: results.reduce((a, r) => a + (r.ackedInWindow * 1000) / r.windowMs, 0),
    deliveredRate: results.reduce((a, r) => a + (r.deliveredInWindow * 1000) / r.windowMs, 0),
    expected: sum('expected'),
    delivered: sum('delivered'),
    lostDeliveries: sum('lostDeliveries'),
    incompletePosts: Math.max(...results.map((r) => r.incompletePosts)),
    aborted: results.some((r) => r.aborted),
    errors,
    closed: sum('closed'),
    ack: summarize(mergeEncoded(results.map((r) => r.ackHist))),
    deliver: summarize(mergeEncoded(results.map((r) => r.deliverHist))),
    serverCpu: (s1.proc.cpuSeconds - s0.proc.cpuSeconds) / seconds,
    serverRssMiB: s1.proc.rssBytes / 2 ** 20,
    driverCpu: results.map((r) => r.driverCpu),
    driverLagP99Ms: Math.max(...results.map((r) => r.driverLagP99Ms)),
    sustained: false,
  };
  const { minRatio, maxP99Ms } = o.cfg.sustain;
  out.sustained =
    !out.aborted &&
    out.ackedRate >= minRatio * o.rate &&
    out.deliveredRate >= minRatio * out.offeredDeliveryRate &&
    out.deliver.p99 <= maxP99Ms;
  return out;
}

/** @param {any} s */
function fmtStep(s) {
  return (
    `offered ${s.offeredRate.toFixed(1)} posts/s (${Math.round(s.offeredDeliveryRate)} deliveries/s) acked ${s.ackedRate.toFixed(1)}/s ` +
    `delivered ${Math.round(s.deliveredRate)}/s p50 ${s.deliver.p50} p99 ${s.deliver.p99} ms lost ${s.lostDeliveries} ` +
    `server ${(s.serverCpu * 100).toFixed(0)}% ${s.serverRssMiB.toFixed(0)} MiB drivers ${s.driverCpu.map((/** @type {number} */ c) => `${(c * 100).toFixed(0)}%`).join('/')}` +
    `${s.sustained ? '' : ' NOT SUSTAINED'}`
  );
}

/**
 * Times the offline members' syncs in driver 0: `first-sync` (no token) or `resume` (from their tokens,
 * then a fetch of what they missed).
 * @param {import('./targets.mjs').Target} target @param {ReturnType<typeof forkDriver>} driver
 * @param {any} msg
 */
async function timedSyncs(target, driver, msg) {
  const m0 = await scrapeMetrics(target.httpUrl);
  const r = await driver.request({ ...msg, url: target.wsUrl, secret: target.secret }, 120_000);
  const m1 = await scrapeMetrics(target.httpUrl);
  return {
    times: r.times,
    wrong: r.wrong,
    maxPages: r.maxPages,
    fetched: r.fetched,
    /** the sync's round trips alone, on an open socket */
    client: summarize(mergeEncoded([r.hist])),
    /** connect, auth -> ready, sync (and the fetch, resuming) */
    connected: summarize(mergeEncoded([r.connectedHist])),
    server: serverReadTime(m0, m1, 'sync'),
    serverFetch: serverReadTime(m0, m1, 'fetch'),
  };
}

/**
 * One store: the channel, the offline members' syncs, the connected members and the step-up.
 * @param {'sqlite'|'postgres'} store @param {ReturnType<typeof channelConfig>} cfg @param {(msg: string) => void} log
 */
async function runStore(store, cfg, log) {
  const t0 = Date.now();
  const db = store === 'postgres' ? await createDatabase() : null;
  /** @type {any} */
  const out = { store, members: cfg.members };
  /** @type {import('./targets.mjs').Target | undefined} */
  let target;
  /** @type {ReturnType<typeof forkDriver>[]} */
  const drivers = [];
  /** @type {ReturnType<typeof rssSampler> | undefined} */
  let rss;
  try {
    target = await startTarget('natter', {
      env: db ? { NATTER_STORE: 'postgres', DATABASE_URL: db.url } : {},
    });
    rss = rssSampler(target.pid, 100);
    const posterIds = Array.from({ length: cfg.posters }, (_, k) => `bench-ch-poster${k}`);
    const made = await makeChannel(target, cfg, posterIds, (m) => log(`channel ${store}: ${m}`));
    const { conversationId } = made;
    out.createMs = made.createMs;
    out.addMs = made.addMs;
    out.atCreation = made.atCreation;
    out.added = made.added;
    out.addRate = out.added / Math.max(0.001, made.addMs / 1000);
    out.rssAfterAddMiB = procStats(target.pid).rssBytes / 2 ** 20;
    log(
      `channel ${store}: ${cfg.members} members in ${((made.createMs + made.addMs) / 1000).toFixed(1)} s ` +
        `(${made.atCreation} at creation in ${made.createMs} ms, ${out.added} added at ${out.addRate.toFixed(0)}/s)`,
    );

    const n = Math.max(1, Math.ceil(cfg.online / cfg.perDriver));
    for (let d = 0; d < n; d++) drivers.push(forkDriver('channel-driver.mjs'));
    // The posters first: the offline members' resume waits for posts made while nobody else is connected.
    const postersOf = (/** @type {number} */ d) => posterIds.filter((_, k) => k % n === d);
    const withPosters = await Promise.all(
      drivers.map((drv, d) =>
        drv.request(
          {
            cmd: 'connect',
            url: target?.wsUrl,
            secret: target?.secret,
            receivers: [],
            posters: postersOf(d),
            concurrency: cfg.connectConcurrency,
          },
          60_000,
        ),
      ),
    );
    if (withPosters.some((c) => c.failed > 0))
      throw new Error(`posters failed to connect: ${withPosters.find((c) => c.firstError)?.firstError}`);

    const who = roles(cfg);
    out.firstSync = {};
    for (const group of /** @type {const} */ (['early', 'late']))
      out.firstSync[group] = await timedSyncs(target, drivers[0], {
        cmd: 'first-sync',
        group,
        userIds: who[group],
      });
    const before = await runStep({
      target,
      drivers,
      cfg,
      conversationId,
      rate: 200,
      durationMs: (cfg.resumeAfterPosts / 200) * 1000,
      warmupMs: 0,
      runId: 0,
    });
    if (before.acked !== cfg.resumeAfterPosts)
      throw new Error(`${before.acked} of ${cfg.resumeAfterPosts} posts before the resume were acked`);
    out.resume = { afterPosts: cfg.resumeAfterPosts };
    for (const group of /** @type {const} */ (['early', 'late'])) {
      out.resume[group] = await timedSyncs(target, drivers[0], { cmd: 'resume', group, conversationId });
      const [f, r] = [out.firstSync[group], out.resume[group]];
      log(
        `channel ${store}: ${group} joiners: first sync p50 ${f.client.p50} ms (server mean ${f.server?.meanMs.toFixed(2)} ms), ` +
          `resume after ${cfg.resumeAfterPosts} posts p50 ${r.client.p50} ms (server mean ${r.server?.meanMs.toFixed(2)} ms) ` +
          `+ fetch of ${r.fetched / r.times} events, server mean ${r.serverFetch?.meanMs.toFixed(2)} ms/page, wrong ${f.wrong + r.wrong}`,
      );
    }

    const per = Math.ceil(cfg.online / n);
    const deadline = Date.now() + cfg.connectBudgetMs;
    const connected = await Promise.all(
      drivers.map((drv, d) =>
        drv.request(
          {
            cmd: 'connect',
            url: target?.wsUrl,
            secret: target?.secret,
            receivers: Array.from({ length: Math.max(0, Math.min(per, cfg.online - d * per)) }, (_, k) =>
              who.online(d * per + k),
            ),
            posters: [],
            concurrency: cfg.connectConcurrency,
            deadline,
          },
          cfg.connectBudgetMs + 60_000,
        ),
      ),
    );
    out.online = connected.reduce((a, c) => a + c.receivers, 0);
    out.connectFailed = connected.reduce((a, c) => a + c.failed, 0);
    out.connectNotTried = connected.reduce((a, c) => a + c.notTried, 0);
    out.connectMs = Math.max(...connected.map((c) => c.ms));
    if (out.online === 0)
      throw new Error(`no member connected: ${connected.find((c) => c.firstError)?.firstError}`);
    await sleep(1000);
    out.rssConnectedMiB = procStats(target.pid).rssBytes / 2 ** 20;
    log(
      `channel ${store}: ${out.online} members connected (${out.connectFailed} failed, ${out.connectNotTried} not tried within ${cfg.connectBudgetMs / 1000} s) in ${out.connectMs} ms from ${n} drivers; RSS ${out.rssConnectedMiB.toFixed(0)} MiB`,
    );

    out.steps = [];
    const stepMs = cfg.step.durationMs + cfg.graceMs + 3000;
    let runId = 1;
    const stepUpEnd = Date.now() + cfg.stepUpBudgetMs;
    for (const deliveries of cfg.deliveryRates) {
      if (Date.now() + stepMs > stepUpEnd) {
        out.truncated = true;
        log(`channel ${store}: time budget reached, stopping the step-up`);
        break;
      }
      const rate = Math.round((deliveries / out.online) * 100) / 100;
      const one = () =>
        runStep({
          target: /** @type {any} */ (target),
          drivers,
          cfg,
          conversationId,
          rate,
          ...cfg.step,
          runId: runId++,
        });
      let step = await one();
      out.steps.push(step);
      log(`channel ${store}: ${fmtStep(step)}`);
      if (!step.sustained && Date.now() + stepMs < stepUpEnd) {
        // One bad step on a shared 2-core machine can be one stall: confirm it once.
        await sleep(2000);
        step = { ...(await one()), retry: true };
        out.steps.push(step);
        log(`channel ${store}: retry ${fmtStep(step)}`);
      }
      if (!step.sustained) break;
      await sleep(1000);
    }
    const top = out.steps
      .filter((/** @type {any} */ s) => s.sustained)
      .sort((/** @type {any} */ a, /** @type {any} */ b) => b.offeredRate - a.offeredRate)[0];
    out.maxSustainedRate = top?.offeredRate ?? 0;
    out.maxSustainedDeliveryRate = top?.deliveredRate ?? 0;
    out.maxSustainedP99Ms = top?.deliver.p99 ?? null;
    out.maxSustainedServerCpu = top?.serverCpu ?? null;
    // Throughput alone (latency ignored): the highest step acked and delivered at >= 95%.
    const keptUp = out.steps
      .filter(
        (/** @type {any} */ s) =>
          !s.aborted &&
          s.ackedRate >= cfg.sustain.minRatio * s.offeredRate &&
          s.deliveredRate >= cfg.sustain.minRatio * s.offeredDeliveryRate,
      )
      .sort((/** @type {any} */ a, /** @type {any} */ b) => b.offeredRate - a.offeredRate)[0];
    out.maxThroughputRate = keptUp?.offeredRate ?? 0;
    out.maxThroughputDeliveryRate = keptUp?.deliveredRate ?? 0;
  } finally {
    await Promise.all(drivers.map((d) => d.close()));
    if (rss) out.peakRssMiB = rss.stop().peakBytes / 2 ** 20;
    if (target) {
      [out.server] = await stopNodes([target]);
      rmSync(target.dataDir, { recursive: true, force: true });
    }
    if (db)
      await dropDatabase(db.name).catch((err) => log(`channel: dropping ${db.name} failed: ${err.message}`));
  }
  out.elapsedMs = Date.now() - t0;
  return out;
}

/**
 * Both stores, one after the other; a store that fails (PostgreSQL not running) is recorded as such.
 * @param {{ quick: boolean, log: (msg: string) => void, online?: number, members?: number }} o
 */
export async function channelScenario(o) {
  const cfg = channelConfig(o.quick, o.online, o.members);
  /** @type {any} */
  const out = {
    date: new Date().toISOString(),
    quick: o.quick,
    config: cfg,
    fdHardLimit: fdHardLimit(),
    runs: [],
  };
  for (const store of cfg.stores) {
    try {
      out.runs.push(await runStore(store, cfg, o.log));
    } catch (err) {
      o.log(`channel ${store} failed: ${/** @type {Error} */ (err).message}`);
      out.runs.push({ store, error: String(/** @type {Error} */ (err).message ?? err) });
    }
  }
  return out;
}
