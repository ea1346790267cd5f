// The `storm` scenario of `npm run bench`: as many idle authenticated clients as the descriptor limit
// allows (each synced once, holding its change token), then a restart of the server (SIGTERM: it drains,
// telling every client to come back after a random delay; then the same command on the same port and data
// dir), and every client reconnecting by the SDK's policy (bench/storm-driver.mjs) and resuming with its
// token. Measures the time to all-resumed, each client's wait against what its backoff asked for, the
// restarted server's peak RSS, and failures. Server and drivers are separate processes on 127.0.0.1.
import { readFileSync, rmSync } from 'node:fs';
import { stopNodes } from './cluster.mjs';
import { machineInfo } from './report.mjs';
import { forkDriver, machineCpu, procStats, sleep, startTarget } from './targets.mjs';

/** @param {boolean} quick @param {number} limit clients asked for (the idle scenario's count) */
export function stormConfig(quick, limit) {
  return {
    requested: quick ? Math.min(limit, 4000) : limit,
    perDriver: 10_000,
    concurrency: 100,
    /** the server's NATTER_DRAIN_MAX_DELAY_MS (its default): clients are told to come back within this */
    drainMaxDelayMs: 5000,
    /**
     * the server's NATTER_MAX_UNAUTHENTICATED (its default; the other scenarios raise it): admission
     * control is part of what a storm tests. The per-address cap stays raised, since every client of
     * this harness comes from 127.0.0.1 and stands for a different address.
     */
    maxUnauthenticated: 10_000,
    /** after the restart, how long to wait for every client to resume before counting the rest as failed */
    resumeTimeoutMs: 60_000,
    rssSampleMs: 50,
  };
}

/**
 * The kernel's count of connections refused because a listen queue was full (TcpExt ListenOverflows in
 * /proc/net/netstat; machine-wide): their SYNs were dropped, and the client waits out TCP's
 * retransmissions (1 s, 3 s, 7 s...) whatever its own backoff says.
 */
function listenOverflows() {
  try {
    const [names, values] = readFileSync('/proc/net/netstat', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('TcpExt:'))
      .map((l) => l.trim().split(/\s+/));
    const i = names?.indexOf('ListenOverflows') ?? -1;
    return i > 0 ? Number(values?.[i]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** @param {number[]} xs */
function distribution(xs) {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const at = (/** @type {number} */ q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  const round = (/** @type {number} */ x) => Math.round(x * 10) / 10;
  return {
    count: s.length,
    p50: round(at(0.5)),
    p90: round(at(0.9)),
    p99: round(at(0.99)),
    max: round(s[s.length - 1]),
    mean: round(s.reduce((a, b) => a + b, 0) / s.length),
  };
}

/**
 * Samples a process's RSS every `ms` until stopped; returns the peak (bytes) and the samples' count.
 * @param {number} pid @param {number} ms
 */
export function rssSampler(pid, ms) {
  let peak = 0;
  let samples = 0;
  const timer = setInterval(() => {
    try {
      const rss = procStats(pid).rssBytes;
      // An exiting process has no VmRSS any more (NaN).
      if (Number.isFinite(rss)) {
        peak = Math.max(peak, rss);
        samples++;
      }
    } catch {
      // the process is gone
    }
  }, ms);
  return {
    stop: () => {
      clearInterval(timer);
      return { peakBytes: peak, samples };
    },
  };
}

/**
 * @param {{ quick: boolean, log: (msg: string) => void, limit: number }} o
 */
export async function stormScenario(o) {
  const cfg = stormConfig(o.quick, o.limit);
  const limitLine = /Max open files\s+(\d+)\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  const hardLimit = Number(limitLine?.[2] ?? Number.POSITIVE_INFINITY);
  // As the idle scenario: one descriptor per socket in the server, plus 100 for its own.
  const count = Math.min(cfg.requested, hardLimit - 100);
  const env = {
    NATTER_DRAIN_MAX_DELAY_MS: String(cfg.drainMaxDelayMs),
    NATTER_MAX_UNAUTHENTICATED: String(cfg.maxUnauthenticated),
  };
  /** @type {any} */
  const out = {
    date: new Date().toISOString(),
    quick: o.quick,
    config: cfg,
    requested: cfg.requested,
    count,
    fdHardLimit: hardLimit,
  };
  let target = await startTarget('natter', { env });
  const first = target;
  /** @type {ReturnType<typeof forkDriver>[]} */
  const drivers = [];
  try {
    const n = Math.ceil(count / cfg.perDriver);
    const per = Math.ceil(count / n);
    for (let d = 0; d < n; d++) drivers.push(forkDriver('storm-driver.mjs'));
    o.log(`storm: opening ${count} authenticated, synced sockets from ${n} driver processes`);
    const connected = await Promise.all(
      drivers.map((drv, d) =>
        drv.request(
          {
            cmd: 'connect',
            url: target.wsUrl,
            secret: target.secret,
            from: d * per,
            count: Math.min(per, count - d * per),
            concurrency: cfg.concurrency,
          },
          240_000,
        ),
      ),
    );
    out.connectMs = Math.max(...connected.map((c) => c.ms));
    out.connected = connected.reduce((a, c) => a + c.ready, 0);
    out.connectFailed = connected.reduce((a, c) => a + c.failed, 0);
    out.connectErrors = Object.assign({}, ...connected.map((c) => c.errors));
    await sleep(2000);
    out.rssBeforeBytes = procStats(target.pid).rssBytes;

    // The restart: SIGTERM (drain), then the same server on the same port and data dir.
    const stopAt = Date.now();
    const driverCpu0 = await Promise.all(drivers.map((d) => d.request({ cmd: 'progress' }, 60_000)));
    const machine0 = machineCpu();
    const overflows0 = listenOverflows();
    const oldRss = rssSampler(target.pid, cfg.rssSampleMs);
    const exitCode = await target.stop();
    out.drain = { exitCode, ms: Date.now() - stopAt, peakRssBytes: oldRss.stop().peakBytes };
    const startAt = Date.now();
    target = await startTarget('natter', {
      env,
      secret: first.secret,
      port: first.port,
      dataDir: first.dataDir,
    });
    const readyAt = Date.now();
    out.restart = { startMs: readyAt - startAt, downMs: readyAt - stopAt };
    const newRss = rssSampler(target.pid, cfg.rssSampleMs);
    o.log(
      `storm: drained in ${out.drain.ms} ms, back in ${out.restart.startMs} ms; waiting for every client to resume`,
    );
    const deadline = readyAt + cfg.resumeTimeoutMs;
    /** @type {any[]} */
    let progress = [];
    while (Date.now() < deadline) {
      progress = await Promise.all(drivers.map((d) => d.request({ cmd: 'progress' }, 60_000)));
      if (progress.reduce((a, p) => a + p.resumed, 0) >= out.connected) break;
      await sleep(200);
    }
    // CPU from SIGTERM until every client resumed (or the timeout), in cores: a restarted server that
    // cannot keep up, or drivers that cannot, show here.
    const seconds = Math.max(0.001, (Date.now() - stopAt) / 1000);
    const machine1 = machineCpu();
    out.listenOverflows = listenOverflows() - overflows0;
    out.cpu = {
      machine:
        ((machine1.busy - machine0.busy) / Math.max(1, machine1.total - machine0.total)) *
        machineInfo().cores,
      restartedServer: procStats(target.pid).cpuSeconds / Math.max(0.001, (Date.now() - startAt) / 1000),
      drivers: progress.map((p, i) => (p.cpuSeconds - driverCpu0[i].cpuSeconds) / seconds),
    };
    await sleep(1000);
    const peak = newRss.stop();
    out.peakRssBytes = peak.peakBytes;
    out.rssSamples = peak.samples;
    out.rssAfterBytes = procStats(target.pid).rssBytes;
    const reports = await Promise.all(drivers.map((d) => d.request({ cmd: 'report', readyAt }, 30_000)));
    const all = (/** @type {string} */ k) => reports.flatMap((r) => r[k]);
    /** @type {Record<string, number>} */
    const outcomes = {};
    for (const r of reports)
      for (const [k, v] of Object.entries(r.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + v;
    const lastResume = Math.max(...reports.map((r) => r.lastResume ?? 0));
    out.resumed = reports.reduce((a, r) => a + r.resumed, 0);
    out.failed = out.connected - out.resumed;
    out.notClosed = reports.reduce((a, r) => a + r.notClosed, 0);
    out.attemptOutcomes = outcomes;
    out.allResumedAfterStopMs = out.failed === 0 ? Math.round(lastResume - stopAt) : null;
    out.allResumedAfterReadyMs = out.failed === 0 ? Math.round(lastResume - readyAt) : null;
    out.downMs = distribution(all('downMs'));
    out.sinceReadyMs = distribution(all('sinceReadyMs'));
    out.overrunMs = distribution(all('overrunMs'));
    const extra = all('extraAttempts');
    out.clientsWithExtraAttempts = extra.filter((x) => x > 0).length;
    out.extraAttempts = extra.reduce((a, b) => a + b, 0);
    o.log(
      `storm: ${out.resumed}/${out.connected} resumed, all in ${out.allResumedAfterReadyMs ?? '-'} ms after ready; ` +
        `overrun p50 ${out.overrunMs?.p50} p99 ${out.overrunMs?.p99} max ${out.overrunMs?.max} ms; ` +
        `${out.clientsWithExtraAttempts} clients needed more than one attempt after ready; peak RSS ${(out.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
    );
  } finally {
    await Promise.all(drivers.map((d) => d.close()));
    [out.server] = await stopNodes([target]);
    rmSync(first.dataDir, { recursive: true, force: true });
  }
  return out;
}
