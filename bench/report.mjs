// Renders bench results as docs/benchmarks.md. Everything is generated except the block between the
// HAND_WRITTEN markers, which is carried over from the previous file.
import { readFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';

const START = '<!-- hand-written:start (kept by bench/run.mjs across runs) -->';
const END = '<!-- hand-written:end -->';

export function machineInfo() {
  const read = (/** @type {string} */ f) => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      return '';
    }
  };
  const limits = /Max open files\s+(\d+)\s+(\d+)/.exec(read('/proc/self/limits'));
  return {
    cores: availableParallelism(),
    cpu: /model name\s*:\s*(.*)/.exec(read('/proc/cpuinfo'))?.[1]?.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: release(),
    nofile: limits ? `${limits[1]} soft / ${limits[2]} hard` : 'unknown',
    portRange: read('/proc/sys/net/ipv4/ip_local_port_range').trim().replace(/\s+/, '-'),
  };
}

/** @param {number} n @param {number} [digits] */
const num = (n, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '-';
/** @param {number} n */
const ms = (n) =>
  Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0)) : '-';
/** @param {import('./histogram.mjs').LatencySummary} l */
const lat = (l) => `${ms(l.p50)} / ${ms(l.p90)} / ${ms(l.p99)} / ${ms(l.p999)} / ${ms(l.max)}`;
/** @param {number} c */
const pct = (c) => `${Math.round(c * 100)}%`;
/** @param {number} a @param {number} b */
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : '-');
/** @param {Record<string, number>} e */
const errs = (e) =>
  Object.entries(e ?? {})
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ') || '0';

/** @param {any} s @param {string} label */
function loadRows(s, label) {
  return [
    `| ${label} | ${num(s.offeredRate)} | ${num(s.ackedRate)} | ${num(s.deliveredRate)} | ${lat(s.ack)} | ${lat(s.deliver)} | ${num(s.lostAcks)} / ${num(s.lostDeliveries)} | ${num(s.duplicates)} | ${errs(s.errors)} | ${pct(s.serverCpu)} | ${s.driverCpu.map(pct).join(' + ')} | ${num(s.machineCpu, 2)} (${num(s.otherCpu ?? NaN, 2)}) | ${s.sustained ? 'yes' : s.aborted ? 'no (backlog > 3 s, stopped)' : 'no'} |`,
  ];
}

/** @param {any} sc @param {string} title */
function loadSection(sc, title) {
  const out = [`## ${title}`, ''];
  if (!sc) return [...out, 'Not run.', ''];
  if (sc.skipped || sc.error) return [...out, `Not measured: ${sc.skipped ?? sc.error}`, ''];
  out.push(
    `${num(sc.conversations)} direct conversations, ${num(sc.sockets)} WebSockets (one per user), ${sc.drivers} driver process(es). ` +
      `Latency columns are p50 / p90 / p99 / p99.9 / max in ms, from each message's scheduled send time. ` +
      `"lost" = never acked / never delivered within ${'3'} s after the last send. CPU: share of one core; machine = cores busy in total, (other) = the part not used by the server or the drivers (other processes, kernel networking not billed to them).`,
    '',
    '| run | offered msg/s | acked msg/s | delivered msg/s | send->ack ms | send->deliver ms | lost (ack / deliver) | duplicates | error frames | server CPU | driver CPU | machine cores (other) | sustained |',
    '|---|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|---|',
  );
  if (sc.base) out.push(...loadRows(sc.base, `steady ${num(sc.base.measuredSeconds)} s`));
  const label = (/** @type {any} */ s) => (s.retry ? ' (retry)' : s.refine ? ' (bisect)' : '');
  for (const s of sc.steps ?? []) out.push(...loadRows(s, `step ${num(s.measuredSeconds)} s${label(s)}`));
  const withCommits = [sc.base, ...(sc.steps ?? [])].filter((s) => s?.commits);
  if (withCommits.length > 0) {
    out.push(
      '',
      "Inside the server during the same windows (deltas of its /metrics: `natter_commit_*` histograms, prom-client's event-loop delay and GC time):",
      '',
      '| offered msg/s | commits/s | mean batch | mean commit ms | commits > 25 ms | commits > 100 ms | wall time inside commits | event-loop delay p99 / max ms | wall time in GC |',
      '|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
      ...withCommits.map(
        (s) =>
          `| ${num(s.offeredRate)}${label(s)} | ${num(s.commits.perSecond)} | ${num(s.commits.meanBatch, 1)} | ${num(s.commits.meanMs, 2)} | ${num(s.commits.over25ms)} | ${num(s.commits.over100ms)} | ${pct(s.commits.loopShare)} | ${ms(s.commits.loopLagP99Ms)} / ${ms(s.commits.loopLagMaxMs)} | ${pct(s.commits.gcShare)} |`,
      ),
    );
  }
  out.push(
    '',
    `Highest sustained rate: **${num(sc.maxSustainedRate)} msg/s** (acked and delivered >= 95% of offered, p99 <= 200 ms). ` +
      `Highest rate kept up with on throughput alone (latency ignored): ${num(sc.maxThroughputRate)} msg/s.`,
  );
  if (sc.server?.warnOrErrorLines)
    out.push(
      '',
      `Server log: ${sc.server.warnOrErrorLines} warn/error lines, e.g. \`${sc.server.sample[0]}\``,
    );
  return [...out, ''];
}

/** @param {any} r */
function targetsSection(r) {
  const n = r.natter;
  if (!n?.base) return [];
  const base = n.base;
  const at10k = n.steps?.findLast((/** @type {any} */ s) => s.offeredRate === 10_000);
  const lines = [
    '### Targets',
    '',
    '| target | measured | met |',
    '|---|---|---|',
    `| p99 send->deliver < 10 ms at 2,000 msg/s | ${ms(base.deliver.p99)} ms | ${base.deliver.p99 < 10 ? 'yes' : 'no'} |`,
    `| 10,000 msg/s acked and delivered | ${at10k ? `${num(at10k.ackedRate)} acked, ${num(at10k.deliveredRate)} delivered msg/s, p99 ${ms(at10k.deliver.p99)} ms` : 'not reached'} | ${at10k?.sustained ? 'yes' : 'no'} |`,
  ];
  if (r.idle?.rssPerConnBytes !== undefined) {
    lines.push(
      `| < 8 KiB server memory per idle connection | ${num(r.idle.rssPerConnBytes / 1024, 2)} KiB RSS | ${r.idle.rssPerConnBytes < 8192 ? 'yes' : 'no'} |`,
    );
  }
  return [...lines, ''];
}

/** @param {any} idle */
function idleSection(idle) {
  const out = ['## 2. Idle authenticated connections (Natter)', ''];
  if (!idle) return [...out, 'Not run.', ''];
  if (idle.skipped || (idle.error && !idle.after))
    return [...out, `Not measured: ${idle.skipped ?? idle.error}`, ''];
  const mib = (/** @type {number} */ b) => (Number.isFinite(b) ? `${(b / 2 ** 20).toFixed(1)} MiB` : '-');
  const m = (/** @type {any} */ s, /** @type {string} */ k) => s.metrics?.[k];
  out.push(
    idle.count < idle.requested
      ? `Asked for ${num(idle.requested)}; opened ${num(idle.count)} because this machine's hard RLIMIT_NOFILE is ${num(idle.fdHardLimit)} (cannot be raised here), and the server needs one descriptor per socket plus its own.`
      : `${num(idle.count)} sockets requested.`,
    `Each socket authenticates with its own JWT (a distinct user) and waits for \`ready\`; clients come from ${Math.ceil(idle.count / 10_000)} driver process(es). Memory is read after a ${'5'} s settle with no forced GC.`,
    '',
    '| | value |',
    '|---|--:|',
    `| sockets open after settle | ${num(idle.open)} (${num(idle.failed)} failed${idle.failed ? `: ${errs(idle.errors)}` : ''}) |`,
    `| time to open and authenticate all | ${num(idle.connectMs / 1000, 1)} s (${num((idle.open / idle.connectMs) * 1000)} /s) |`,
    `| server RSS before / after | ${mib(idle.before.rssBytes)} / ${mib(idle.after.rssBytes)} |`,
    `| **RSS per connection** | **${num(idle.rssPerConnBytes / 1024, 2)} KiB** |`,
    `| V8 heap used before / after (/metrics) | ${mib(m(idle.before, 'nodejs_heap_size_used_bytes'))} / ${mib(m(idle.after, 'nodejs_heap_size_used_bytes'))} |`,
    `| heap per connection | ${idle.heapPerConnBytes === null ? '-' : `${num(idle.heapPerConnBytes / 1024, 2)} KiB`} |`,
    `| process_resident_memory_bytes before / after | ${mib(m(idle.before, 'process_resident_memory_bytes'))} / ${mib(m(idle.after, 'process_resident_memory_bytes'))} |`,
    `| sockets closed by the server during the hold | ${errs(idle.closedCodes)} |`,
    '',
  );
  return out;
}

/** @param {any} r */
function ratioSection(r) {
  const n = r.natter;
  const s = r.relay;
  const out = ['### Natter vs the Socket.IO relay', ''];
  if (!n?.base || !s?.base) return [...out, 'Needs both the Natter and the relay runs.', ''];
  out.push(
    "Ratios are Natter / relay: above 1 means Natter has more throughput, or more latency. The relay stores nothing and acks before anything is durable; Natter acks after an fsync'd SQLite commit.",
    '',
    '| metric | Natter | relay | Natter / relay |',
    '|---|--:|--:|--:|',
    `| highest sustained rate, p99 <= 200 ms (msg/s) | ${num(n.maxSustainedRate)} | ${num(s.maxSustainedRate)} | ${ratio(n.maxSustainedRate, s.maxSustainedRate)} |`,
    `| highest rate kept up with, latency ignored (msg/s) | ${num(n.maxThroughputRate)} | ${num(s.maxThroughputRate)} | ${ratio(n.maxThroughputRate, s.maxThroughputRate)} |`,
  );
  for (const [label, key] of /** @type {const} */ ([
    ['send->deliver', 'deliver'],
    ['send->ack', 'ack'],
  ])) {
    for (const p of /** @type {const} */ (['p50', 'p99'])) {
      out.push(
        `| ${label} ${p} at ${num(n.base.offeredRate)} msg/s (ms) | ${ms(n.base[key][p])} | ${ms(s.base[key][p])} | ${ratio(n.base[key][p], s.base[key][p])} |`,
      );
    }
  }
  // The last attempt at each rate both targets reached (a retry replaces the first attempt).
  const last = (/** @type {any[]} */ steps, /** @type {number} */ rate) =>
    steps.findLast((x) => x.offeredRate === rate);
  for (const rate of new Set((n.steps ?? []).map((/** @type {any} */ x) => x.offeredRate))) {
    const ns = last(n.steps, rate);
    const ss = last(s.steps ?? [], rate);
    if (!ss) continue;
    out.push(
      `| delivered msg/s at ${num(rate)} offered | ${num(ns.deliveredRate)} | ${num(ss.deliveredRate)} | ${ratio(ns.deliveredRate, ss.deliveredRate)} |`,
      `| send->deliver p50 / p99 at ${num(rate)} offered (ms) | ${ms(ns.deliver.p50)} / ${ms(ns.deliver.p99)} | ${ms(ss.deliver.p50)} / ${ms(ss.deliver.p99)} | ${ratio(ns.deliver.p50, ss.deliver.p50)} / ${ratio(ns.deliver.p99, ss.deliver.p99)} |`,
    );
  }
  return [...out, ''];
}

/** @param {any} p */
function profileSection(p) {
  const out = ['## 4. CPU profile of the Natter server under load', ''];
  if (!p) return [...out, 'Not run.', ''];
  if (p.skipped || p.error) return [...out, `Not measured: ${p.skipped ?? p.error}`, ''];
  const sm = p.summary;
  out.push(
    `\`node --cpu-prof\` on the server while driven at ${num(p.rate)} msg/s for ${num(p.step.measuredSeconds + 1)} s (the highest rate Natter kept up with in section 1; ` +
      `achieved ${num(p.step.ackedRate)} acked msg/s, p99 deliver ${ms(p.step.deliver.p99)} ms, server CPU ${pct(p.step.serverCpu)} under the profiler). ` +
      (sm.windowed
        ? `Only samples inside the measured load window count (start-up and set-up excluded): ${num(sm.totalMs / 1000, 1)} s sampled, ${num(sm.busyMs / 1000, 1)} s busy. `
        : `The summary spans the whole process life (start-up and set-up included): ${num(sm.totalMs / 1000, 1)} s sampled, ${num(sm.busyMs / 1000, 1)} s busy. `) +
      'Percentages are of busy time (all but "(idle)"); time the thread spends blocked in a native call (an fsync inside a better-sqlite3 transaction) counts as that function\'s self time. ' +
      `The profiler itself slows the server. Raw profile: \`${p.file}\`.`,
    '',
    '| # | self % | self ms | function | where |',
    '|--:|--:|--:|---|---|',
    ...sm.top.map(
      (/** @type {any} */ r, /** @type {number} */ i) =>
        `| ${i + 1} | ${r.pct.toFixed(1)} | ${num(r.selfMs)} | \`${r.name}\` | ${r.where ? `\`${r.where}\`` : ''} |`,
    ),
    '',
    'Self time by origin:',
    '',
    '| origin | self % | self ms |',
    '|---|--:|--:|',
    ...sm.origins
      .slice(0, 12)
      .map((/** @type {any} */ r) => `| ${r.origin} | ${r.pct.toFixed(1)} | ${num(r.selfMs)} |`),
    '',
  );
  return out;
}

/** Sentences derived from the numbers; the hand-written section below is where judgement goes. @param {any} r */
function limitsSection(r) {
  const out = ['## What limits it (derived from the numbers above)', ''];
  const n = r.natter;
  if (!n?.steps?.length) return [...out, 'No Natter load run in this report.', ''];
  // The lowest rate that failed above the highest sustained one (its last attempt), and that sustained step.
  const failing = n.steps
    .filter((/** @type {any} */ s) => !s.sustained && s.offeredRate > n.maxSustainedRate)
    .reduce(
      (/** @type {any} */ a, /** @type {any} */ s) => (!a || s.offeredRate <= a.offeredRate ? s : a),
      undefined,
    );
  const top =
    n.steps.findLast((/** @type {any} */ s) => s.sustained && s.offeredRate === n.maxSustainedRate) ?? n.base;
  const cores = r.machine.cores;
  const bullets = [];
  bullets.push(
    `${n.maxSustainedRate > 0 ? `At its highest sustained rate (${num(top.offeredRate)} msg/s)` : `No rate met the bar; at the base ${num(top.offeredRate)} msg/s`} the Natter process used ${pct(top.serverCpu)} of one core; the machine had ${num(top.machineCpu, 2)} of ${cores} cores busy, the drivers ${top.driverCpu.map(pct).join(' + ')}.`,
  );
  if (failing) {
    const serverBound = failing.serverCpu >= 0.9;
    const machineBound = failing.machineCpu >= cores * 0.9;
    const driverBound = failing.driverCpu.some((/** @type {number} */ c) => c >= 0.9);
    bullets.push(
      `At ${num(failing.offeredRate)} msg/s it fell behind (acked ${num(failing.ackedRate)}/s, p99 deliver ${ms(failing.deliver.p99)} ms): server ${pct(failing.serverCpu)} of a core, machine ${num(failing.machineCpu, 2)}/${cores} cores, drivers ${failing.driverCpu.map(pct).join(' + ')}. ` +
        (failing.commits
          ? `A group commit was in flight ${pct(failing.commits.loopShare)} of the wall time (mean ${ms(failing.commits.meanMs)} ms per commit, batches of ${num(failing.commits.meanBatch, 1)}). `
          : '') +
        (serverBound
          ? "The server's single event loop is saturated: it is CPU-bound in one thread."
          : failing.commits && failing.serverCpu + failing.commits.loopShare >= 1
            ? 'Server CPU plus commit time fills the wall clock: the single writer (one transaction at a time, fsync included) is the serial bottleneck even though the CPU is not at 100%.'
            : machineBound
              ? 'The machine is out of CPU (server and drivers share its cores), so the server could not get a full core.'
              : driverBound
                ? 'A driver process is saturated: the limit measured here is partly the load generator.'
                : 'Neither the server nor the machine was CPU-saturated: the limit is waiting (fsync / commit latency or back-pressure), not computation.'),
    );
    if ((failing.otherCpu ?? 0) > 0.4) {
      bullets.push(
        `Caution: during that step ${num(failing.otherCpu, 2)} cores were busy outside the server and drivers (other processes on this shared machine, or kernel networking), so the limit may be partly the environment.`,
      );
    }
  } else {
    bullets.push(
      `Every step up to ${num(n.steps.at(-1).offeredRate)} msg/s was sustained: the search ran out of steps before Natter did.`,
    );
  }
  const p = r.profile?.summary;
  if (p) {
    const o = p.origins.slice(0, 4).map((/** @type {any} */ x) => `${x.origin} ${x.pct.toFixed(0)}%`);
    bullets.push(
      `Profile, busy time by origin: ${o.join(', ')}. Hottest functions: ${p.top
        .slice(0, 5)
        .map((/** @type {any} */ x) => `\`${x.name}\` ${x.pct.toFixed(1)}%`)
        .join(', ')}.`,
    );
  }
  if (r.relay?.maxSustainedRate)
    bullets.push(
      `The storage-free Socket.IO relay sustained ${num(r.relay.maxSustainedRate)} msg/s on the same machine and drivers.`,
    );
  return [...out, ...bullets.map((b) => `- ${b}`), ''];
}

/**
 * @param {any} r results from run.mjs
 * @param {string} previous the current docs/benchmarks.md ('' if none)
 */
export function renderReport(r, previous) {
  const i = previous.indexOf(START);
  const j = previous.indexOf(END);
  const handWritten =
    i >= 0 && j > i
      ? previous.slice(i + START.length, j).trim()
      : '_Nothing yet. Write analysis here: bench/run.mjs keeps this block when it regenerates the file._';
  const m = r.machine;
  const c = r.config;
  return [
    '# Natter benchmarks',
    '',
    `> Generated by \`npm run bench\` (bench/run.mjs) on ${r.date.slice(0, 16).replace('T', ' ')} UTC in ${num(r.elapsedSeconds)} s${r.quick ? ' (--quick: shortened runs, numbers are indicative only)' : ''}. ` +
      'Everything except the hand-written section at the end is regenerated by each run; raw numbers are in bench/results/latest.json.',
    '',
    '## Machine',
    '',
    '| | |',
    '|---|---|',
    `| CPU | ${m.cores} x ${m.cpu} |`,
    `| memory | ${m.memoryGiB} GiB |`,
    `| Node.js | ${m.node} |`,
    `| kernel | Linux ${m.kernel} |`,
    `| open files limit | ${m.nofile} |`,
    `| ephemeral ports | ${m.portRange} |`,
    ...(Number.isFinite(m.backgroundCores)
      ? [
          `| background load before the run | ${num(m.backgroundCores, 2)} cores busy (this machine is shared; see "other" in the tables) |`,
        ]
      : []),
    ...(m.fsync
      ? [
          `| 4 KiB write + fdatasync in the temp dir | median ${ms(m.fsync.medianMs)} ms, p99 ${ms(m.fsync.p99Ms)} ms |`,
        ]
      : []),
    '',
    '## Method',
    '',
    "- Every process is separate and on 127.0.0.1: the server under test (`node packages/server/dist/main.js`, or `bench/socketio-relay.mjs`) and the load drivers (`bench/load-driver.mjs`, `bench/idle-driver.mjs`) started by `bench/run.mjs`. Drivers and server share the machine's cores; CPU per process is read from /proc and reported next to every number.",
    `- Natter runs with a fresh data dir (SQLite), \`NATTER_LOG_LEVEL=warn\`, and send / frame rate limits raised to 1,000,000 so they never trigger. Users authenticate with HS256 JWTs; direct conversations are created with \`POST /v1/conversations/direct\`.`,
    `- **Open loop**: each driver sends on a fixed schedule (message i at start + i / rate), whatever the server does; at every 1 ms tick it sends everything that is due. Latency is measured **from the scheduled time**, so a server stall or a driver falling behind is counted in full (no coordinated omission). The driver's 1 ms tick is part of the measured latency.`,
    `- Workload: ${num(c.pairs)} 1:1 pairs, each user on one WebSocket; messages go round-robin over the ${num(c.pairs * 2)} (sender, conversation) routes, alternating direction, ${c.bodyBytes}-byte bodies. Both users of a pair live in the same driver process, so send, ack and delivery times come from one clock. send->ack = until the sender gets its \`ack\`; send->deliver = until the peer gets the \`event\` frame (matched by client_msg_id; a second arrival counts as a duplicate).`,
    `- Histograms: HdrHistogram (hdr-histogram-js, 3 significant digits, µs), merged across drivers. The first ${c.base.warmupMs / 1000} s of each run are warm-up and not recorded. Throughput = acks (deliveries) received during the measured window / its length.`,
    `- Runs: ${num(c.base.rate)} msg/s for ${num((c.base.durationMs - c.base.warmupMs) / 1000)} s measured, then a step-up search (${c.steps.rates.map((/** @type {number} */ x) => num(x)).join(', ')} msg/s, ${num((c.steps.durationMs - c.steps.warmupMs) / 1000)} s measured each) stopping at the first step where acked or delivered throughput < 95% of offered, p99 > 200 ms, or the backlog passes 3 s. A failing step is run once more (marked "retry") before the search stops, so one noisy step does not end it; then one step halfway between the last sustained and the failing rate ("bisect") tightens the figure.`,
    '',
    '## 1. Natter 1:1 open loop',
    '',
    ...loadSection(r.natter, '').slice(2),
    ...targetsSection(r),
    ...idleSection(r.idle),
    ...loadSection(r.relay, '3. Socket.IO 4 relay, same workload'),
    'The relay (`bench/socketio-relay.mjs`): Socket.IO 4, websocket transport only, one room per conversation, `send` with an ack callback, broadcast to the room except the sender, then ack. No storage, no auth check.',
    '',
    ...ratioSection(r),
    ...profileSection(r.profile),
    ...limitsSection(r),
    '## Analysis (hand-written)',
    '',
    START,
    handWritten,
    END,
    '',
  ].join('\n');
}
