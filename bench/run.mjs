// Natter benchmark orchestrator (`npm run bench`). Starts each server under test and the load drivers as
// separate processes on 127.0.0.1, runs the scenarios, writes bench/results/latest.json and regenerates
// docs/benchmarks.md (keeping its hand-written section).
//   node bench/run.mjs [--quick] [--only natter,relay,idle,profile,groups,resume,storm,writer,channel,cluster]
//     [--drivers 2] [--pairs 500] [--channel-online 19000] [--channel-members 100000] [--no-doc]
//   `--only cluster` runs just the PostgreSQL + Redis cluster scenario (bench/cluster.mjs, needs both on
//   127.0.0.1) and replaces only its section of docs/benchmarks.md; so do `groups` (bench/groups.mjs),
//   `resume` (bench/resume.mjs), `storm` (bench/storm.mjs), `writer` (bench/sqlite-writer.mjs) and `channel` (bench/channel.mjs) run on their own
//   or together, and they merge their results into bench/results/latest.json; `--channel-online` sets how
//   many of the channel's 100,000 members are connected (default: 19,000, or what the descriptor limit allows); `--cluster-nodes 1,3` and
//   `--cluster-workloads direct,group,direct-local` narrow it down; `--render-cluster` only re-renders that
//   block from bench/results/cluster.json.

import { execFileSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  fdatasyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { channelScenario } from './channel.mjs';
import { clusterScenario } from './cluster.mjs';
import { groupsScenario } from './groups.mjs';
import { mergeEncoded, summarize } from './histogram.mjs';
import { summarizeProfile } from './profile-summary.mjs';
import { machineInfo, renderReport, spliceCluster, spliceScenarios } from './report.mjs';
import { resumeScenario } from './resume.mjs';
import { stormScenario } from './storm.mjs';
import {
  forkDriver,
  machineCpu,
  makePairs,
  NATTER_MAIN,
  procStats,
  ROOT,
  scrapeMetrics,
  sleep,
  startTarget,
} from './targets.mjs';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', default: 'natter,relay,idle,profile,groups,resume,storm,writer,channel,cluster' },
    /** members of the channel scenario's channel who are connected (default: 19,000, or what fits) */
    'channel-online': { type: 'string' },
    /** the channel scenario's channel size (default 100,000) */
    'channel-members': { type: 'string' },
    'cluster-nodes': { type: 'string', default: '1,3' },
    'cluster-workloads': { type: 'string', default: 'direct,group,direct-local' },
    drivers: { type: 'string', default: '2' },
    pairs: { type: 'string', default: '500' },
    idle: { type: 'string', default: '20000' },
    'no-doc': { type: 'boolean', default: false },
    /** re-render docs/benchmarks.md's cluster block from bench/results/cluster.json, run nothing */
    'render-cluster': { type: 'boolean', default: false },
  },
});
const quick = args.quick;
const CONFIG = {
  pairs: Number(args.pairs),
  drivers: Number(args.drivers),
  bodyBytes: 100,
  base: { rate: 2000, durationMs: quick ? 5000 : 17_000, warmupMs: 2000 },
  steps: {
    rates: [5000, 10_000, 15_000, 20_000, 25_000, 30_000],
    durationMs: quick ? 4000 : 8000,
    warmupMs: 2000,
  },
  graceMs: 3000,
  maxBacklogMs: 3000,
  /** sustained = acked and delivered >= 95% of offered, and p99 (ack and delivery) <= 200 ms */
  sustain: { minRatio: 0.95, maxP99Ms: 200 },
  idle: {
    connections: Number(args.idle),
    perDriver: 10_000,
    concurrency: 100,
    settleMs: quick ? 3000 : 5000,
  },
  profile: { durationMs: quick ? 5000 : 10_000 },
};
const only = new Set(args.only.split(','));
/** Scenarios whose section of docs/benchmarks.md can be replaced on its own. */
const SECTIONED = ['cluster', 'groups', 'resume', 'storm', 'writer', 'channel'];
/** Sectioned scenarios whose results merge into bench/results/latest.json. */
const MERGED = ['groups', 'resume', 'storm', 'writer', 'channel'];
const started = Date.now();
// Every phase is bounded on its own; this is the backstop for the whole run.
const watchdog = setTimeout(
  () => {
    console.error('bench: time budget exceeded, aborting');
    process.exit(1);
  },
  (only.has('channel') ? 33 : 25) * 60_000,
);
watchdog.unref();

/** @param {string} msg */
const log = (msg) => console.log(`[bench +${((Date.now() - started) / 1000).toFixed(0)}s] ${msg}`);

/**
 * Runs one open-loop step at `rate` msg/s on all drivers and aggregates their results.
 * @param {import('./targets.mjs').Target} target
 * @param {ReturnType<typeof forkDriver>[]} drivers
 * @param {{rate: number, durationMs: number, warmupMs: number}} step
 * @param {number} runId
 */
async function runStep(target, drivers, step, runId) {
  const startAt = Date.now() + 300;
  const share = step.rate / drivers.length;
  const sample = async (/** @type {number} */ at) => {
    await sleep(Math.max(0, at - Date.now()));
    const metrics = target.kind === 'natter' ? await scrapeMetrics(target.httpUrl) : {};
    return {
      t: Date.now(),
      monoUs: Number(process.hrtime.bigint() / 1000n),
      proc: procStats(target.pid),
      machine: machineCpu(),
      metrics,
    };
  };
  const [results, s0, s1] = await Promise.all([
    Promise.all(
      drivers.map((d) =>
        d.request(
          {
            cmd: 'run',
            runId,
            startAt,
            rate: share,
            durationMs: step.durationMs,
            warmupMs: step.warmupMs,
            graceMs: CONFIG.graceMs,
            bodyBytes: CONFIG.bodyBytes,
            maxBacklogMs: CONFIG.maxBacklogMs,
          },
          step.durationMs + CONFIG.graceMs + 30_000,
        ),
      ),
    ),
    sample(startAt + step.warmupMs),
    sample(startAt + step.durationMs),
  ]);
  const sum = (/** @type {string} */ k) => results.reduce((a, r) => a + r[k], 0);
  /** @type {Record<string, number>} */
  const errors = {};
  for (const r of results) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
  const ack = summarize(mergeEncoded(results.map((r) => r.ackHist)));
  const deliver = summarize(mergeEncoded(results.map((r) => r.deliverHist)));
  const ackedRate = results.reduce((a, r) => a + (r.ackedInWindow * 1000) / r.windowMs, 0);
  const deliveredRate = results.reduce((a, r) => a + (r.deliveredInWindow * 1000) / r.windowMs, 0);
  const seconds = Math.max(0.001, (s1.t - s0.t) / 1000);
  const aborted = results.some((r) => r.aborted);
  const out = {
    offeredRate: step.rate,
    measuredSeconds: (step.durationMs - step.warmupMs) / 1000,
    ackedRate,
    deliveredRate,
    sent: sum('sent'),
    acked: sum('acked'),
    delivered: sum('delivered'),
    lostAcks: sum('lostAcks'),
    lostDeliveries: sum('lostDeliveries'),
    duplicates: sum('duplicates'),
    aborted,
    errors,
    closed: sum('closed'),
    ack,
    deliver,
    serverCpu: (s1.proc.cpuSeconds - s0.proc.cpuSeconds) / seconds,
    serverRssMiB: s1.proc.rssBytes / 2 ** 20,
    /** whole machine, in cores busy (out of machineInfo().cores) */
    machineCpu:
      ((s1.machine.busy - s0.machine.busy) / Math.max(1, s1.machine.total - s0.machine.total)) *
      machineInfo().cores,
    driverCpu: results.map((r) => r.driverCpu),
    /** cores used by everything else on the machine (other processes, kernel networking not billed to a process) */
    otherCpu: 0,
    /** the measured window on CLOCK_MONOTONIC, to cut a CPU profile to it */
    monoWindowUs: { fromUs: s0.monoUs, toUs: s1.monoUs },
    driverLagP99Ms: Math.max(...results.map((r) => r.driverLagP99Ms)),
    commits: commitStats(s0.metrics, s1.metrics, seconds),
    sustained: false,
  };
  out.otherCpu = Math.max(0, out.machineCpu - out.serverCpu - out.driverCpu.reduce((a, b) => a + b, 0));
  out.sustained =
    !aborted &&
    ackedRate >= CONFIG.sustain.minRatio * step.rate &&
    deliveredRate >= CONFIG.sustain.minRatio * step.rate &&
    ack.p99 <= CONFIG.sustain.maxP99Ms &&
    deliver.p99 <= CONFIG.sustain.maxP99Ms;
  return out;
}

/**
 * Natter's group commits during a step, from the deltas of its /metrics histograms.
 * @param {Record<string, number>} m0 @param {Record<string, number>} m1 @param {number} seconds
 */
function commitStats(m0, m1, seconds) {
  const d = (/** @type {string} */ k) => (m1[k] ?? NaN) - (m0[k] ?? 0); // a series absent at the start was 0
  const commits = d('natter_commit_flush_seconds_count');
  if (!Number.isFinite(commits) || commits <= 0) return null;
  return {
    perSecond: commits / seconds,
    meanBatch: d('natter_commit_batch_size_sum') / d('natter_commit_batch_size_count'),
    meanMs: (1000 * d('natter_commit_flush_seconds_sum')) / commits,
    over25ms: commits - d('natter_commit_flush_seconds_bucket{le="0.025"}'),
    over100ms: commits - d('natter_commit_flush_seconds_bucket{le="0.1"}'),
    /** share of wall time the event loop spent inside commits (CPU and fsync wait) */
    loopShare: d('natter_commit_flush_seconds_sum') / seconds,
    /** prom-client's event-loop delay gauges reset at each scrape, so these cover the window */
    loopLagP99Ms: 1000 * (m1.nodejs_eventloop_lag_p99_seconds ?? NaN),
    loopLagMaxMs: 1000 * (m1.nodejs_eventloop_lag_max_seconds ?? NaN),
    gcShare:
      Object.keys(m1)
        .filter((k) => k.startsWith('nodejs_gc_duration_seconds_sum'))
        .reduce((a, k) => a + d(k), 0) / seconds,
  };
}

/**
 * The distribution of a 4 KiB write + fdatasync in the temp dir (where the server's data dir lives),
 * 1,000 tries: a durable system's latency is bounded by its disk's flush latency, so its tail is
 * reported next to the latency figures.
 * @returns {{ medianMs: number, p90Ms: number, p99Ms: number, p999Ms: number, maxMs: number, samples: number }}
 */
function measureFsync() {
  const file = join(tmpdir(), `natter-bench-fsync-${process.pid}`);
  const fd = openSync(file, 'w');
  const buf = Buffer.alloc(4096, 1);
  const times = [];
  try {
    for (let i = 0; i < 1000; i++) {
      const t0 = performance.now();
      writeSync(fd, buf, 0, buf.length, (i % 16) * 4096);
      fdatasyncSync(fd);
      times.push(performance.now() - t0);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  return {
    medianMs: at(0.5),
    p90Ms: at(0.9),
    p99Ms: at(0.99),
    p999Ms: at(0.999),
    maxMs: times[times.length - 1],
    samples: times.length,
  };
}

/**
 * The SQLite writer alone (bench/sqlite-writer.mjs, its own process): CPU and wall time per message
 * of the commit and of the search indexing after it, at batch sizes 1, 10 and 100, and the time per
 * statement at 100.
 */
function writerScenario() {
  const messages = quick ? 10_000 : 40_000;
  return {
    date: new Date().toISOString(),
    quick,
    batches: [1, 10, 100].map((batch) => {
      const out = execFileSync(
        process.execPath,
        [
          join(ROOT, 'bench/sqlite-writer.mjs'),
          '--batch',
          String(batch),
          '--messages',
          String(batch === 1 ? messages / 4 : messages),
        ],
        { encoding: 'utf8' },
      );
      return JSON.parse(out);
    }),
  };
}

/** Cores busy on the machine over 2 s before the bench starts (other people's work on a shared box). */
async function backgroundLoad() {
  const a = machineCpu();
  await sleep(2000);
  const b = machineCpu();
  return ((b.busy - a.busy) / Math.max(1, b.total - a.total)) * machineInfo().cores;
}

/**
 * Starts `kind`, makes the pairs, forks the drivers and connects every user.
 * @param {'natter'|'relay'} kind @param {{nodeArgs?: string[]}} [opts]
 */
async function setUp(kind, opts) {
  const target = await startTarget(kind, opts);
  /** @type {ReturnType<typeof forkDriver>[]} */
  const drivers = [];
  try {
    const t0 = Date.now();
    const pairs = await makePairs(target, CONFIG.pairs);
    const setupMs = Date.now() - t0;
    const per = Math.ceil(pairs.length / CONFIG.drivers);
    for (let d = 0; d < CONFIG.drivers; d++) drivers.push(forkDriver('load-driver.mjs'));
    const connected = await Promise.all(
      drivers.map((drv, d) =>
        drv.request(
          {
            cmd: 'connect',
            target: kind === 'natter' ? 'natter' : 'socketio',
            url: target.wsUrl,
            driverId: d,
            pairs: pairs.slice(d * per, (d + 1) * per),
          },
          60_000,
        ),
      ),
    );
    const failed = connected.reduce((a, c) => a + c.failed, 0);
    if (failed > 0)
      throw new Error(`${failed} connections failed: ${connected.find((c) => c.firstError)?.firstError}`);
    const sockets = connected.reduce((a, c) => a + c.sockets, 0);
    log(
      `${kind}: ${pairs.length} conversations in ${setupMs} ms, ${sockets} sockets ready in ${Math.max(...connected.map((c) => c.ms))} ms`,
    );
    return { target, drivers, sockets, conversationSetupMs: setupMs };
  } catch (err) {
    await tearDown(target, drivers);
    throw err;
  }
}

/** @param {import('./targets.mjs').Target} target @param {ReturnType<typeof forkDriver>[]} drivers */
async function tearDown(target, drivers) {
  await Promise.all(drivers.map((d) => d.close()));
  const exitCode = await target.stop();
  const logText = existsSync(target.logFile) ? readFileSync(target.logFile, 'utf8') : '';
  const lines = logText.split('\n').filter(Boolean);
  const problems = lines.filter((l) => /"level":(40|50|60)/.test(l) || !l.startsWith('{'));
  rmSync(target.dataDir, { recursive: true, force: true });
  return {
    exitCode,
    logLines: lines.length,
    warnOrErrorLines: problems.length,
    sample: problems.slice(0, 3).map((l) => l.slice(0, 300)),
  };
}

/** Scenario 1 / 3: a 2,000 msg/s run, then a step-up search for the highest sustained rate. */
async function loadScenario(/** @type {'natter'|'relay'} */ kind) {
  const { target, drivers, sockets, conversationSetupMs } = await setUp(kind);
  let runId = 0;
  /** @type {any} */
  const out = {
    sockets,
    conversations: CONFIG.pairs,
    drivers: CONFIG.drivers,
    conversationSetupMs,
    steps: [],
  };
  try {
    log(`${kind}: ${CONFIG.base.rate} msg/s for ${CONFIG.base.durationMs / 1000} s`);
    out.base = await runStep(target, drivers, CONFIG.base, runId++);
    log(`${kind}: base ${fmtStep(out.base)}`);
    for (const rate of CONFIG.steps.rates) {
      await sleep(1000);
      let step = await runStep(target, drivers, { ...CONFIG.steps, rate }, runId++);
      out.steps.push(step);
      log(`${kind}: step ${fmtStep(step)}`);
      if (!step.sustained) {
        // One bad step on a shared 2-core machine can be noise (a GC pause, a neighbour): confirm it once.
        await sleep(2000);
        step = { ...(await runStep(target, drivers, { ...CONFIG.steps, rate }, runId++)), retry: true };
        out.steps.push(step);
        log(`${kind}: retry ${fmtStep(step)}`);
      }
      if (!step.sustained) break;
    }
    // One bisection step between the last sustained and the failing rate, for a tighter figure.
    const ok = out.steps
      .filter((/** @type {any} */ s) => s.sustained)
      .map((/** @type {any} */ s) => s.offeredRate);
    if (out.base.sustained) ok.push(CONFIG.base.rate);
    const failed = out.steps.at(-1);
    const lastOk = Math.max(0, ...ok);
    if (!failed?.sustained && failed.offeredRate - lastOk >= 2000) {
      const rate = Math.round((lastOk + failed.offeredRate) / 2 / 500) * 500;
      await sleep(2000);
      const step = { ...(await runStep(target, drivers, { ...CONFIG.steps, rate }, runId++)), refine: true };
      out.steps.push(step);
      log(`${kind}: refine ${fmtStep(step)}`);
    }
    const all = [out.base, ...out.steps];
    out.maxSustainedRate = Math.max(0, ...all.filter((s) => s.sustained).map((s) => s.offeredRate));
    // Throughput alone (latency ignored): the highest rate acked and delivered at >= 95%.
    const keptUp = (/** @type {any} */ s) =>
      !s.aborted &&
      s.ackedRate >= CONFIG.sustain.minRatio * s.offeredRate &&
      s.deliveredRate >= CONFIG.sustain.minRatio * s.offeredRate;
    out.maxThroughputRate = Math.max(0, ...all.filter(keptUp).map((s) => s.offeredRate));
  } finally {
    out.server = await tearDown(target, drivers);
  }
  return out;
}

/** @param {any} s */
function fmtStep(s) {
  return `offered ${s.offeredRate}/s acked ${s.ackedRate.toFixed(0)}/s delivered ${s.deliveredRate.toFixed(0)}/s ack p99 ${s.ack.p99} ms deliver p50 ${s.deliver.p50} p99 ${s.deliver.p99} ms lost ${s.lostDeliveries} dup ${s.duplicates} server ${(s.serverCpu * 100).toFixed(0)}% drivers ${s.driverCpu.map((c) => `${(c * 100).toFixed(0)}%`).join('/')}${s.sustained ? '' : ' NOT SUSTAINED'}`;
}

/** Scenario 2: idle authenticated connections and the server memory they cost. */
async function idleScenario() {
  const limitLine = /Max open files\s+(\d+)\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  const hardLimit = Number(limitLine?.[2] ?? Infinity);
  // The server needs one fd per socket plus its own (SQLite, epoll, stdio...): keep 100 spare.
  const requested = CONFIG.idle.connections;
  const count = Math.min(requested, hardLimit - 100);
  const target = await startTarget('natter');
  /** @type {ReturnType<typeof forkDriver>[]} */
  const drivers = [];
  /** @type {any} */
  const out = { requested, count, fdHardLimit: hardLimit };
  try {
    await sleep(CONFIG.idle.settleMs);
    out.before = { ...procStats(target.pid), metrics: await scrapeMetrics(target.httpUrl) };
    const n = Math.ceil(count / CONFIG.idle.perDriver);
    const per = Math.ceil(count / n);
    for (let d = 0; d < n; d++) drivers.push(forkDriver('idle-driver.mjs'));
    log(`idle: opening ${count} authenticated sockets from ${n} driver processes`);
    const connected = await Promise.all(
      drivers.map((drv, d) =>
        drv.request(
          {
            cmd: 'connect',
            url: target.wsUrl,
            secret: target.secret,
            from: d * per,
            count: Math.min(per, count - d * per),
            concurrency: CONFIG.idle.concurrency,
          },
          240_000,
        ),
      ),
    );
    out.connectMs = Math.max(...connected.map((c) => c.ms));
    out.failed = connected.reduce((a, c) => a + c.failed, 0);
    out.errors = Object.assign({}, ...connected.map((c) => c.errors));
    await sleep(CONFIG.idle.settleMs);
    out.after = { ...procStats(target.pid), metrics: await scrapeMetrics(target.httpUrl) };
    const status = await Promise.all(drivers.map((d) => d.request({ cmd: 'status' }, 10_000)));
    out.open = status.reduce((a, s) => a + s.open, 0);
    out.closedCodes = Object.assign({}, ...status.map((s) => s.closedCodes));
    const open = Math.max(1, out.open);
    out.rssPerConnBytes = (out.after.rssBytes - out.before.rssBytes) / open;
    const heap = (/** @type {any} */ s) => s.metrics.nodejs_heap_size_used_bytes;
    out.heapPerConnBytes =
      heap(out.after) !== undefined && heap(out.before) !== undefined
        ? (heap(out.after) - heap(out.before)) / open
        : null;
    log(
      `idle: ${out.open} open (${out.failed} failed) in ${out.connectMs} ms; RSS +${(out.rssPerConnBytes / 1024).toFixed(2)} KiB/conn, heap +${out.heapPerConnBytes === null ? '?' : (out.heapPerConnBytes / 1024).toFixed(2)} KiB/conn`,
    );
  } finally {
    out.server = await tearDown(target, drivers);
  }
  return out;
}

/** Scenario 4: a CPU profile of Natter at its highest sustained rate. */
async function profileScenario(/** @type {number} */ rate) {
  const dir = await mkdtemp(join(tmpdir(), 'natter-bench-prof-'));
  const { target, drivers } = await setUp('natter', { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  /** @type {any} */
  const out = { rate, dir };
  try {
    log(`profile: ${rate} msg/s for ${CONFIG.profile.durationMs / 1000} s under --cpu-prof`);
    out.step = await runStep(
      target,
      drivers,
      { rate, durationMs: CONFIG.profile.durationMs, warmupMs: 1000 },
      0,
    );
    log(`profile: ${fmtStep(out.step)}`);
  } finally {
    out.server = await tearDown(target, drivers);
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file)
    throw new Error(
      `no .cpuprofile written in ${dir} (server exit code ${out.server.exitCode}; it must exit normally on SIGTERM)`,
    );
  // Keep the raw profile next to the results (open it in Chrome DevTools > Performance).
  out.file = join(ROOT, 'bench/results/natter-server.cpuprofile');
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  copyFileSync(join(dir, file), out.file);
  rmSync(dir, { recursive: true, force: true });
  out.summary = summarizeProfile(out.file, 15, out.step.monoWindowUs);
  out.file = out.file.replace(`${ROOT}/`, '');
  return out;
}

/** Runs a scenario, recording its error instead of stopping the whole bench. */
async function attempt(/** @type {string} */ name, /** @type {() => Promise<any>} */ fn) {
  try {
    return await fn();
  } catch (err) {
    log(`${name} failed: ${/** @type {Error} */ (err).message}`);
    return { error: String(/** @type {Error} */ (err).message ?? err) };
  }
}

async function main() {
  if (args['render-cluster']) {
    const docPath = join(ROOT, 'docs/benchmarks.md');
    const cluster = JSON.parse(readFileSync(join(ROOT, 'bench/results/cluster.json'), 'utf8'));
    writeFileSync(docPath, spliceCluster(readFileSync(docPath, 'utf8'), cluster));
    log('re-rendered the cluster block of docs/benchmarks.md from bench/results/cluster.json');
    return;
  }
  /** @type {any} */
  const results = {
    date: new Date().toISOString(),
    machine: { ...machineInfo(), fsync: measureFsync(), backgroundCores: await backgroundLoad() },
    config: CONFIG,
    quick,
  };
  const natterBuilt = existsSync(NATTER_MAIN);
  const skipped = {
    skipped: `${NATTER_MAIN.replace(`${ROOT}/`, '')} not found: the Natter server is not built`,
  };
  if (only.has('natter'))
    results.natter = natterBuilt ? await attempt('natter', () => loadScenario('natter')) : skipped;
  if (only.has('relay')) results.relay = await attempt('relay', () => loadScenario('relay'));
  if (only.has('idle')) results.idle = natterBuilt ? await attempt('idle', idleScenario) : skipped;
  if (only.has('profile')) {
    // "Max-rate load": the highest rate Natter kept up with, even if its p99 was over the bar.
    const rate =
      Math.max(results.natter?.maxSustainedRate ?? 0, results.natter?.maxThroughputRate ?? 0) ||
      CONFIG.base.rate;
    results.profile = natterBuilt ? await attempt('profile', () => profileScenario(rate)) : skipped;
  }
  if (only.has('cluster')) {
    results.cluster = natterBuilt
      ? await attempt('cluster', () =>
          clusterScenario({
            quick,
            log,
            nodeCounts: args['cluster-nodes'].split(',').map(Number),
            workloads: args['cluster-workloads'].split(','),
            fsync: results.machine.fsync,
          }),
        )
      : skipped;
  }
  if (only.has('groups'))
    results.groups = natterBuilt ? await attempt('groups', () => groupsScenario({ quick, log })) : skipped;
  if (only.has('resume'))
    results.resume = natterBuilt ? await attempt('resume', () => resumeScenario({ quick, log })) : skipped;
  if (only.has('storm'))
    results.storm = natterBuilt
      ? await attempt('storm', () => stormScenario({ quick, log, limit: CONFIG.idle.connections }))
      : skipped;
  if (only.has('writer'))
    results.writer = natterBuilt ? await attempt('writer', async () => writerScenario()) : skipped;
  if (only.has('channel'))
    results.channel = natterBuilt
      ? await attempt('channel', () =>
          channelScenario({
            quick,
            log,
            online: args['channel-online'] === undefined ? undefined : Number(args['channel-online']),
            members: args['channel-members'] === undefined ? undefined : Number(args['channel-members']),
          }),
        )
      : skipped;
  results.elapsedSeconds = (Date.now() - started) / 1000;
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  // Scenarios with a section of their own (cluster, groups, resume, storm, channel), run without the 1:1 ones,
  // leave the other scenarios' results (and their sections of the doc) alone.
  const partial = [...only].every((s) => SECTIONED.includes(s));
  const latestPath = join(ROOT, 'bench/results/latest.json');
  if (results.cluster)
    writeFileSync(join(ROOT, 'bench/results/cluster.json'), `${JSON.stringify(results.cluster, null, 2)}\n`);
  if (!partial) writeFileSync(latestPath, `${JSON.stringify(results, null, 2)}\n`);
  else if (MERGED.some((s) => only.has(s))) {
    const previous = existsSync(latestPath) ? JSON.parse(readFileSync(latestPath, 'utf8')) : {};
    const { cluster: _cluster, ...mine } = results;
    for (const key of MERGED) if (!only.has(key)) delete mine[key];
    writeFileSync(latestPath, `${JSON.stringify({ ...previous, ...mine }, null, 2)}\n`);
  }
  if (!args['no-doc']) {
    const docPath = join(ROOT, 'docs/benchmarks.md');
    const previous = existsSync(docPath) ? readFileSync(docPath, 'utf8') : '';
    let doc = renderReport(results, previous);
    if (partial && previous) {
      doc = results.cluster ? spliceCluster(previous, results.cluster) : previous;
      doc = spliceScenarios(doc, results);
    }
    writeFileSync(docPath, doc);
    log(`wrote docs/benchmarks.md and bench/results in ${results.elapsedSeconds.toFixed(0)} s`);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
