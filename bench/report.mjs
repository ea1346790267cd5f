// Renders bench results as docs/benchmarks.md. Everything is generated except the block between the
// HAND_WRITTEN markers, which is carried over from the previous file.
import { readFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';

const START = '<!-- hand-written:start (kept by bench/run.mjs across runs) -->';
const END = '<!-- hand-written:end -->';
const CLUSTER_START =
  '<!-- cluster:start (generated; `npm run bench -- --only cluster` replaces just this block) -->';
const CLUSTER_END = '<!-- cluster:end -->';
const CLUSTER_HAND_START = '<!-- cluster-hand-written:start (kept by bench/run.mjs across runs) -->';
const CLUSTER_HAND_END = '<!-- cluster-hand-written:end -->';
const CLUSTER_TITLE = '## 5. Cluster: PostgreSQL + Redis, one node vs three';
const FIRST_LOAD_START =
  '<!-- first-load:start (generated; `npm run bench:first-load` replaces just this block) -->';
const FIRST_LOAD_END = '<!-- first-load:end -->';
const FIRST_LOAD_TITLE = '## 6. Web app: first load on a slow 4G connection';
/** The last section: bench/search.mjs writes it, bench/run.mjs keeps it. */
export const SEARCH_TITLE = '## 7. Message search over 1,000,000 messages';

/** The text between two markers of `doc`, trimmed, or undefined. @param {string} doc @param {string} a @param {string} b */
function between(doc, a, b) {
  const i = doc.indexOf(a);
  const j = doc.indexOf(b, i + a.length);
  return i >= 0 && j > i ? doc.slice(i + a.length, j).trim() : undefined;
}

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
      `| <= 6 KiB server memory per idle connection | ${num(r.idle.rssPerConnBytes / 1024, 2)} KiB RSS | ${r.idle.rssPerConnBytes <= 6144 ? 'yes' : 'no'} |`,
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
      'Everything except the hand-written sections is regenerated by each run; raw numbers are in bench/results/latest.json. ' +
      'Section 5 (cluster) carries its own date: `npm run bench -- --only cluster` reruns and replaces just that block.',
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
          `| 4 KiB write + fdatasync in the temp dir (${num(m.fsync.samples ?? 100)} tries; bounds every durable commit) | p50 ${ms(m.fsync.medianMs)} / p90 ${m.fsync.p90Ms === undefined ? '?' : ms(m.fsync.p90Ms)} / p99 ${ms(m.fsync.p99Ms)} / p99.9 ${m.fsync.p999Ms === undefined ? '?' : ms(m.fsync.p999Ms)} / max ${m.fsync.maxMs === undefined ? '?' : ms(m.fsync.maxMs)} ms |`,
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
    ...clusterPart(
      r.cluster ? clusterSection(r.cluster) : between(previous, CLUSTER_START, CLUSTER_END),
      previous,
    ),
    ...firstLoadPart(between(previous, FIRST_LOAD_START, FIRST_LOAD_END)),
    ...scenarioParts(r, previous),
    '## Analysis (hand-written)',
    '',
    START,
    handWritten,
    END,
    '',
    ...searchPart(previous),
  ].join('\n');
}

/** The message search section (bench/search.mjs writes it), carried over unchanged. @param {string} previous */
function searchPart(previous) {
  const at = previous.indexOf(SEARCH_TITLE);
  return at >= 0 ? [previous.slice(at).trimEnd(), ''] : [];
}

/** @param {any} s */
const lat4 = (s) => `${ms(s.p50)} / ${ms(s.p99)} / ${ms(s.p999)} / ${ms(s.max)}`;
/** @param {any} s */
const stepLabel = (s) => `${num(s.offeredRate)}${s.retry ? ' (retry)' : s.refine ? ' (bisect)' : ''}`;
/** @param {number[]} xs */
const total = (xs) => xs.reduce((a, b) => a + b, 0);

/** A generated cluster block plus the hand-written cluster analysis (kept from `previous`). @param {string | undefined} generated @param {string} previous */
function clusterPart(generated, previous) {
  return [
    CLUSTER_TITLE,
    '',
    CLUSTER_START,
    generated ?? 'Not run yet: `npm run bench -- --only cluster` (needs PostgreSQL and Redis on 127.0.0.1).',
    CLUSTER_END,
    '',
    '### Cluster analysis (hand-written)',
    '',
    CLUSTER_HAND_START,
    between(previous, CLUSTER_HAND_START, CLUSTER_HAND_END) ??
      '_Nothing yet. bench/run.mjs keeps this block when it regenerates the file._',
    CLUSTER_HAND_END,
    '',
  ];
}

/**
 * `previous` with its cluster block replaced by one rendered from `c` (the rest untouched); a document
 * without one gets the cluster section inserted before its hand-written analysis.
 * @param {string} previous @param {any} c results of bench/cluster.mjs
 */
export function spliceCluster(previous, c) {
  const generated = clusterSection(c);
  return spliceBlock(previous, CLUSTER_START, CLUSTER_END, generated, clusterPart(generated, previous));
}

/**
 * `previous` with its first-load block (bench/first-load.mjs) replaced by `generated`; a document
 * without one gets the section inserted before its hand-written analysis.
 * @param {string} previous @param {string} generated
 */
export function spliceFirstLoad(previous, generated) {
  return spliceBlock(previous, FIRST_LOAD_START, FIRST_LOAD_END, generated, firstLoadPart(generated));
}

/**
 * Replaces what lies between `start` and `end`, or else inserts `part` (the block with its heading)
 * before the hand-written analysis.
 * @param {string} previous @param {string} start @param {string} end @param {string} generated @param {string[]} part
 */
function spliceBlock(previous, start, end, generated, part) {
  const i = previous.indexOf(start);
  const j = previous.indexOf(end, i);
  if (i >= 0 && j > i) return `${previous.slice(0, i + start.length)}\n${generated}\n${previous.slice(j)}`;
  const at = previous.indexOf('## Analysis (hand-written)');
  return at >= 0
    ? `${previous.slice(0, at)}${part.join('\n')}\n${previous.slice(at)}`
    : `${previous.trimEnd()}\n\n${part.join('\n')}\n`;
}

/** The first-load section around a generated (or carried-over) block. @param {string | undefined} generated */
function firstLoadPart(generated) {
  return [
    FIRST_LOAD_TITLE,
    '',
    FIRST_LOAD_START,
    generated ?? 'Not run yet: `npm run bench:first-load`.',
    FIRST_LOAD_END,
    '',
  ];
}

/** @param {any} c results of bench/cluster.mjs @returns {string} */
function clusterSection(c) {
  if (!c) return 'Not run.';
  if (c.skipped || (c.error && !c.runs)) return `Not measured: ${c.skipped ?? c.error}`;
  const m = c.machine;
  const cfg = c.config;
  const pg = c.services?.postgres ?? {};
  const out = [
    `> Run on ${c.date.slice(0, 16).replace('T', ' ')} UTC in ${num(c.elapsedSeconds)} s${c.quick ? ' (--quick: shortened steps, indicative only)' : ''}, on the machine above (${m.cores} x ${m.cpu}, Node.js ${m.node}). ` +
      `PostgreSQL ${pg.version ?? '?'} (fsync ${pg.fsync ?? '?'}, wal_sync_method ${pg.wal_sync ?? '?'}, shared_buffers ${pg.shared_buffers ?? '?'}; the nodes set synchronous_commit=on), Redis ${c.services?.redis?.version ?? '?'} (AOF ${c.services?.redis?.aof ? 'on' : 'off'}), both local on 127.0.0.1. ` +
      `Background load before the run: ${num(m.backgroundCores, 2)} cores busy.${m.fsync ? ` 4 KiB write + fdatasync in the temp dir: median ${ms(m.fsync.medianMs)} ms, p99 ${ms(m.fsync.p99Ms)} ms.` : ''} Raw numbers: bench/results/cluster.json.`,
    '',
    `- Each run below gets a fresh database (\`natter_bench_<random>\`, dropped afterwards) and its own \`NATTER_REDIS_PREFIX\` (its keys deleted afterwards). Nodes are \`node packages/server/dist/main.js\` with \`NATTER_STORE=postgres\`, \`NATTER_CLUSTER=redis\`, their own \`NATTER_NODE_ID\` and port, one JWT secret, and the same raised rate limits as section 1; each is its own process, and so are the ${cfg.drivers} drivers (\`bench/cluster-driver.mjs\`). "1 node" is the same cluster configuration with one node (PostgreSQL + Redis, so it pays the registry lookup and the store's round trips, but nothing crosses nodes).`,
    '- No balancer: each driver connects every user straight to the node the harness picked for it (a client-side node list), so the **cross-node share** (the fraction of deliveries whose recipient is connected to another node than the sender) is set by the harness and measured on every delivery. ' +
      `1:1: ${num(cfg.direct.pairs)} pairs (${num(cfg.direct.pairs * 2)} sockets); on 3 nodes a third of the pairs share a node and two thirds do not, which is what a random balancer gives (about 67% cross-node); the last run puts both users of every pair on one node (0% cross-node) to separate the bus from the store. ` +
      `Groups: ${cfg.group.groups} groups of ${cfg.group.size} (${num(cfg.group.groups * cfg.group.size)} sockets), each member on node (member + group) mod N, so each send is delivered to ${cfg.group.size - 1} members, about two thirds of them on other nodes.`,
    `- Open loop as in section 1 (send i at start + i / rate, latency from the scheduled time, HdrHistogram µs, merged over drivers); sends go round-robin over every (member, conversation), consecutive sends to different conversations; ${cfg.bodyBytes}-byte bodies. All members of a conversation live in one driver, so send and delivery times come from one clock. ` +
      `Each step runs ${num(cfg.step.durationMs / 1000)} s, the first ${num(cfg.step.warmupMs / 1000)} s unrecorded. A run steps up through its rates and stops at the first step that is not sustained (acked < 95% of offered sends/s, delivered < 95% of offered x fan-out, p99 send->ack or send->deliver > ${cfg.sustain.maxP99Ms} ms, or more than ${num(cfg.maxBacklogMs / 1000)} s of sends unacked); a failing step is run once more ("retry") before the run stops, since one stall fails a short step; then one step halfway between the last sustained and the failing rate ("bisect") tightens the figure. The scenario is bounded to ${num(cfg.budgetMs / 60_000)} minutes.`,
    `- "lost at step end" = not acked / not delivered ${num(cfg.graceMs / 1000)} s after the step's last send; "lost for good" = still missing after the whole run plus up to ${num(cfg.settleMs / 1000)} s (late frames counted), which is the one that must be 0. CPU is a share of one core per process from /proc: every node, **all** \`postgres\` processes (the server is shared, so other databases' backends count too), \`redis-server\`, the drivers; "other" = machine cores busy minus all of those (other people's processes on this shared machine, kernel work not billed to a process).`,
    '',
    '| run | highest sustained sends/s | deliveries/s there | send->deliver p50 / p99 / p99.9 ms there | send->ack p50 / p99 / p99.9 ms there | cross-node share | lost for good (ack / deliver), all steps | CPU there: nodes / postgres / redis / drivers / other (cores) |',
    '|---|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const run of c.runs) {
    const title = run.name ?? `${run.nodeCount} node(s), ${run.workload}`;
    if (run.error || run.skipped) {
      out.push(`| ${title} | not measured: ${run.error ?? run.skipped} | | | | | | |`);
      continue;
    }
    const top = run.steps.findLast(
      (/** @type {any} */ s) => s.sustained && s.offeredRate === run.maxSustainedRate,
    );
    const lostAcks = total(run.steps.map((/** @type {any} */ s) => s.final?.lostAcks ?? NaN));
    const lostDel = total(run.steps.map((/** @type {any} */ s) => s.final?.lostDeliveries ?? NaN));
    out.push(
      top
        ? `| ${title} | **${num(top.offeredRate)}** | ${num(top.deliveredRate)} | ${ms(top.deliver.p50)} / ${ms(top.deliver.p99)} / ${ms(top.deliver.p999)} | ${ms(top.ack.p50)} / ${ms(top.ack.p99)} / ${ms(top.ack.p999)} | ${pct(top.crossShare)} | ${num(lostAcks)} / ${num(lostDel)} | ${num(total(top.nodeCpu), 2)} / ${num(top.postgresCpu, 2)} / ${num(top.redisCpu, 2)} / ${num(total(top.driverCpu), 2)} / ${num(top.otherCpu, 2)} |`
        : `| ${title} | none of ${run.steps.map((/** @type {any} */ s) => num(s.offeredRate)).join(', ')} | | | | ${pct(run.steps[0]?.crossShare ?? NaN)} | ${num(lostAcks)} / ${num(lostDel)} | |`,
    );
  }
  out.push('');
  for (const run of c.runs) {
    if (run.error || run.skipped) continue;
    out.push(
      `#### ${run.name}`,
      '',
      `${num(run.conversations)} conversations of ${run.conversationSize} (fan-out ${run.conversationSize - 1} per send), ${num(run.sockets)} sockets (per node: ${run.socketsPerNode.join(' / ')}). Nodes ready in ${num(run.startMs / 1000, 1)} s, conversations created in ${num(run.setupMs / 1000, 1)} s, sockets authenticated in ${num(run.connectMs / 1000, 1)} s.${run.truncated ? ' The step-up was cut short by the time budget.' : ''}`,
      '',
      '| sends/s offered | acked sends/s | deliveries/s (offered) | send->ack p50 / p99 / p99.9 / max ms | send->deliver p50 / p99 / p99.9 / max ms | same-node / cross-node deliver p99 ms | cross-node share | lost at step end (ack / deliver) | lost for good | dup | error frames | node CPU | postgres / redis CPU | driver CPU | machine cores (other) | sustained |',
      '|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|---|',
      ...run.steps.map(
        (/** @type {any} */ s) =>
          `| ${stepLabel(s)} | ${num(s.ackedRate)} | ${num(s.deliveredRate)} (${num(s.offeredDeliveryRate)}) | ${lat4(s.ack)} | ${lat4(s.deliver)} | ${ms(s.sameNode.p99)} / ${ms(s.crossNode.p99)} | ${pct(s.crossShare)} | ${num(s.lostAcks)} / ${num(s.lostDeliveries)} | ${s.final ? `${num(s.final.lostAcks)} / ${num(s.final.lostDeliveries)}` : '-'} | ${num(s.duplicates)} | ${errs(s.errors)} | ${s.nodeCpu.map(pct).join(' + ')} | ${pct(s.postgresCpu)} / ${pct(s.redisCpu)} | ${s.driverCpu.map(pct).join(' + ')} | ${num(s.machineCpu, 2)} (${num(s.otherCpu, 2)}) | ${s.sustained ? 'yes' : s.aborted ? 'no (backlog > 3 s, stopped)' : 'no'} |`,
      ),
      '',
      'Inside the nodes (deltas of each /metrics over the measured window, summed or worst over the nodes): group commits to PostgreSQL, the Redis bus, event-loop delay.',
      '',
      '| sends/s offered | commits/s | mean batch | mean commit ms | commits in flight on average, per node | bus published / received per s | bus dropped | event-loop delay p99 ms (worst node) |',
      '|--:|--:|--:|--:|--:|--:|--:|--:|',
      ...run.steps.map((/** @type {any} */ s) => {
        const n = s.nodes;
        const commits = total(n.map((/** @type {any} */ x) => x.commitsPerSecond));
        const batch =
          total(n.map((/** @type {any} */ x) => x.commitsPerSecond * (x.meanBatch || 0))) /
          Math.max(1e-9, commits);
        const commitMs =
          total(n.map((/** @type {any} */ x) => x.commitsPerSecond * (x.meanCommitMs || 0))) /
          Math.max(1e-9, commits);
        return `| ${stepLabel(s)} | ${num(commits)} | ${num(batch, 1)} | ${num(commitMs, 1)} | ${n.map((/** @type {any} */ x) => num(x.commitShare, 2)).join(' / ')} | ${num(total(n.map((/** @type {any} */ x) => x.busPublishedPerSecond)))} / ${num(total(n.map((/** @type {any} */ x) => x.busReceivedPerSecond)))} | ${num(total(n.map((/** @type {any} */ x) => x.busDropped)))} | ${ms(Math.max(...n.map((/** @type {any} */ x) => x.loopLagP99Ms)))} |`;
      }),
      '',
    );
    const problems = (run.server ?? []).filter((/** @type {any} */ x) => x.warnOrErrorLines > 0);
    if (problems.length > 0)
      out.push(
        `Node logs: ${problems.map((/** @type {any} */ x) => `${x.warnOrErrorLines} warn/error lines (e.g. \`${x.sample[0]}\`)`).join('; ')}`,
        '',
      );
  }
  out.push(...clusterLimits(c));
  return out.join('\n').trim();
}

/** Sentences derived from the cluster numbers (the hand-written block is where judgement goes). @param {any} c */
function clusterLimits(c) {
  const cores = c.machine.cores;
  const bullets = [];
  for (const run of c.runs) {
    if (run.error || run.skipped || !run.steps?.length) continue;
    // The last attempt at the lowest rate that failed above the highest sustained one.
    const failing = run.steps
      .filter((/** @type {any} */ s) => !s.sustained && s.offeredRate > (run.maxSustainedRate ?? 0))
      .sort(
        (/** @type {any} */ a, /** @type {any} */ b) =>
          a.offeredRate - b.offeredRate || (b.retry ? 1 : 0) - (a.retry ? 1 : 0),
      )[0];
    if (!failing) {
      bullets.push(
        `${run.name}: every step up to ${num(run.steps.at(-1).offeredRate)} sends/s was sustained; the ladder ran out first.`,
      );
      continue;
    }
    const n = failing.nodes;
    const worstShare = Math.max(...n.map((/** @type {any} */ x) => x.commitShare));
    const commitMs = Math.max(...n.map((/** @type {any} */ x) => x.meanCommitMs || 0));
    const used = total(failing.nodeCpu) + failing.postgresCpu + failing.redisCpu + total(failing.driverCpu);
    bullets.push(
      `${run.name}: fell behind at ${num(failing.offeredRate)} sends/s (acked ${num(failing.ackedRate)}/s, p99 deliver ${ms(failing.deliver.p99)} ms). ` +
        `Machine ${num(failing.machineCpu, 2)} of ${cores} cores busy: nodes ${num(total(failing.nodeCpu), 2)} (busiest ${pct(Math.max(...failing.nodeCpu))} of a core), postgres ${num(failing.postgresCpu, 2)}, redis ${num(failing.redisCpu, 2)}, drivers ${num(total(failing.driverCpu), 2)}, other ${num(failing.otherCpu, 2)}. ` +
        `Commits took up to ${ms(commitMs)} ms on average, with ${num(worstShare, 2)} in flight on average on the busiest node (a node overlaps at most two). ` +
        (failing.machineCpu >= cores * 0.9
          ? used >= cores * 0.8
            ? 'The machine was out of CPU, most of it spent by the cluster itself.'
            : 'The machine was out of CPU, much of it outside the cluster (see "other"): the step was disturbed.'
          : worstShare >= 1.8
            ? 'The CPU was not saturated: the commit path (round trips to PostgreSQL, row and clock locks, fsync) was the bottleneck.'
            : 'Neither the CPU nor the commit path was saturated.'),
    );
  }
  return bullets.length > 0
    ? ['Derived from the numbers above:', '', ...bullets.map((b) => `- ${b}`), '']
    : [];
}

/** The sections of the groups, resume and storm scenarios: each a generated block between markers. */
const SCENARIO_SECTIONS = /** @type {const} */ ([
  { key: 'groups', title: '## 9. 50-member groups: Natter vs the Socket.IO relay', render: groupsSection },
  {
    key: 'resume',
    title: '## 10. Resume and initial sync of an account in 1,000 conversations',
    render: resumeSection,
  },
  { key: 'storm', title: '## 11. Reconnect storm after a restart', render: stormSection },
  { key: 'channel', title: '## 12. A channel of 100,000 members', render: channelSection },
  { key: 'writer', title: '## 13. The SQLite writer, per message inside a batch', render: writerSection },
]);
/** @param {string} key */
const scenarioStart = (key) =>
  `<!-- ${key}:start (generated; \`npm run bench -- --only ${key}\` replaces just this block) -->`;
/** @param {string} key */
const scenarioEnd = (key) => `<!-- ${key}:end -->`;

/**
 * The groups, resume, storm and channel sections: rendered from `r` where it has them, else carried over from
 * `previous`. @param {any} r @param {string} previous
 */
function scenarioParts(r, previous) {
  return SCENARIO_SECTIONS.flatMap(({ key, title, render }) => [
    title,
    '',
    scenarioStart(key),
    r[key]
      ? render(r[key])
      : (between(previous, scenarioStart(key), scenarioEnd(key)) ??
        `Not run yet: \`npm run bench -- --only ${key}\`.`),
    scenarioEnd(key),
    '',
  ]);
}

/**
 * `previous` with the blocks of the groups, resume, storm and channel scenarios that `r` has replaced (the rest
 * untouched); a document without such a block gets its section before the hand-written analysis.
 * @param {string} previous @param {any} r
 */
export function spliceScenarios(previous, r) {
  let doc = previous;
  for (const { key, title, render } of SCENARIO_SECTIONS) {
    if (!r[key]) continue;
    const generated = render(r[key]);
    doc = spliceBlock(doc, scenarioStart(key), scenarioEnd(key), generated, [
      title,
      '',
      scenarioStart(key),
      generated,
      scenarioEnd(key),
      '',
    ]);
  }
  return doc;
}

/** @param {string} date ISO @param {boolean} [quick] */
const runOn = (date, quick) =>
  `> Run on ${date.slice(0, 16).replace('T', ' ')} UTC${quick ? ' (--quick: shortened, indicative only)' : ''}, on the machine above.`;

/** @param {any} w results of the writer scenario (bench/sqlite-writer.mjs per batch size) @returns {string} */
function writerSection(w) {
  if (w.skipped || w.error) return `Not measured: ${w.skipped ?? w.error}`;
  const us = (/** @type {number} */ x) => num(x, 1);
  const at100 = w.batches.find((/** @type {any} */ b) => b.batch === 100) ?? w.batches[w.batches.length - 1];
  const phases = Object.entries(at100.phases)
    .map(([name, t]) => `\`${name}\` ${us(/** @type {number} */ (t))}`)
    .join(', ');
  const cpu = at100.commit.cpuUs;
  return [
    runOn(w.date, w.quick),
    '',
    `\`bench/sqlite-writer.mjs\` in its own process: the writer thread's code (SqliteLogWriter, then SqliteSearchIndexer) on a fresh data dir with the server's settings (WAL, synchronous=FULL, checkpoint at 10,000 pages), ${num(at100.pairs)} direct conversations, 100-byte messages round-robin over them, after a warm-up. Commit = the transaction with its fsync; index = the search indexing that follows the commits on the writer thread (off the ack path). µs per message; CPU is the process's user + system time, wall includes the fsync wait.`,
    '',
    '| messages per commit | messages | commit CPU µs | commit wall µs | index CPU µs | index wall µs |',
    '|--:|--:|--:|--:|--:|--:|',
    ...w.batches.map(
      (/** @type {any} */ b) =>
        `| ${num(b.batch)} | ${num(b.messages)} | ${us(b.commit.cpuUs)} | ${us(b.commit.wallUs)} | ${us(b.index.cpuUs)} | ${us(b.index.wallUs)} |`,
    ),
    '',
    `Per statement at ${at100.batch} per commit (wall µs per message, each prepared statement timed; \`saveConversation\` includes the per-user change index's trigger): ${phases}.`,
    '',
    `Target: <= 15 µs per message inside a batch. Measured ${us(cpu)} µs of CPU per message at ${at100.batch} per commit: ${cpu <= 15 ? '**met**' : '**not met**'}.`,
  ].join('\n');
}

/** @param {any} g results of bench/groups.mjs @returns {string} */
function groupsSection(g) {
  if (g.skipped || g.error) return `Not measured: ${g.skipped ?? g.error}`;
  const cfg = g.config;
  const fanout = cfg.size - 1;
  const out = [
    runOn(g.date, g.quick),
    '',
    `${cfg.groups} groups of ${cfg.size} members, one WebSocket per member (${num(cfg.groups * cfg.size)} sockets), ${cfg.drivers} driver processes (\`bench/cluster-driver.mjs\`); every member of a group lives in one driver, so send and delivery times come from one clock. ` +
      `Natter: one process on SQLite, groups created with \`POST /v1/conversations\`. The relay (\`bench/socketio-relay.mjs\`): each member joins its group's room; a send is broadcast to the room except the sender, then acked. ` +
      `Open loop as in section 1: sends round-robin over every (member, group), consecutive sends to different groups, ${cfg.bodyBytes}-byte bodies; each send is ${fanout} deliveries. ` +
      `Each step runs ${num(cfg.step.durationMs / 1000, 1)} s, the first ${num(cfg.step.warmupMs / 1000, 1)} s unrecorded; sustained = acked >= 95% of sends, delivered >= 95% of sends x ${fanout}, p99 send->ack and send->deliver <= ${cfg.sustain.maxP99Ms} ms; a failing step is retried once, then one bisect step. Latencies: p50 / p99 / p99.9 / max ms from the scheduled send time.`,
    '',
    '| target | sends/s offered | acked sends/s | deliveries/s (offered) | send->ack ms | send->deliver ms | lost at step end (ack / deliver) | lost for good | dup | server CPU | driver CPU | machine cores (other) | sustained |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const kind of /** @type {const} */ (['natter', 'relay'])) {
    const t = g[kind];
    if (!t || t.error || t.skipped) {
      out.push(`| ${kind} | not measured: ${t?.error ?? t?.skipped ?? 'not run'} | | | | | | | | | | | |`);
      continue;
    }
    for (const s of t.steps)
      out.push(
        `| ${kind} | ${stepLabel(s)} | ${num(s.ackedRate)} | ${num(s.deliveredRate)} (${num(s.offeredDeliveryRate)}) | ${lat4(s.ack)} | ${lat4(s.deliver)} | ${num(s.lostAcks)} / ${num(s.lostDeliveries)} | ${s.final ? `${num(s.final.lostAcks)} / ${num(s.final.lostDeliveries)}` : '-'} | ${num(s.duplicates)} | ${pct(s.nodeCpu[0])} | ${s.driverCpu.map(pct).join(' + ')} | ${num(s.machineCpu, 2)} (${num(s.otherCpu, 2)}) | ${s.sustained ? 'yes' : s.aborted ? 'no (backlog > 3 s, stopped)' : 'no'} |`,
      );
  }
  const top = (/** @type {any} */ t) =>
    t?.steps?.findLast((/** @type {any} */ s) => s.sustained && s.offeredRate === t.maxSustainedRate);
  const n = top(g.natter);
  const r = top(g.relay);
  out.push(
    '',
    '| at the highest sustained step | Natter | relay | Natter / relay |',
    '|---|--:|--:|--:|',
    `| sends/s | ${num(n?.offeredRate ?? 0)} | ${num(r?.offeredRate ?? 0)} | ${ratio(n?.offeredRate, r?.offeredRate)} |`,
    `| **deliveries/s** | **${num(n?.deliveredRate ?? 0)}** | **${num(r?.deliveredRate ?? 0)}** | **${ratio(n?.deliveredRate, r?.deliveredRate)}** |`,
    `| send->deliver p99 ms | ${ms(n?.deliver.p99 ?? NaN)} | ${ms(r?.deliver.p99 ?? NaN)} | ${ratio(n?.deliver.p99, r?.deliver.p99)} |`,
    `| server CPU (one core = 100%) | ${n ? pct(n.nodeCpu[0]) : '-'} | ${r ? pct(r.nodeCpu[0]) : '-'} | ${ratio(n?.nodeCpu[0], r?.nodeCpu[0])} |`,
    `| server RSS MiB | ${num(n?.nodeRssMiB[0] ?? NaN)} | ${num(r?.nodeRssMiB[0] ?? NaN)} | |`,
    '',
    `Target: deliveries/s at least the relay's (1.0x): ${n && r ? (n.deliveredRate >= r.deliveredRate ? 'met' : 'not met') : 'not measured'}.`,
  );
  return out.join('\n').trim();
}

/** @param {any} res results of bench/resume.mjs @returns {string} */
function resumeSection(res) {
  if (res.skipped || res.error) return `Not measured: ${res.skipped ?? res.error}`;
  const cfg = res.config;
  const server = (/** @type {any} */ s) =>
    s ? `${ms(s.meanMs)} (p50 <= ${ms(s.p50AtMostMs)}, p99 <= ${ms(s.p99AtMostMs)})` : '-';
  const out = [
    runOn(res.date, res.quick),
    '',
    `One account in ${num(cfg.direct + cfg.groups)} conversations (${num(cfg.direct)} direct, ${num(cfg.groups)} groups of ${cfg.groupPeers + 1}), a message from it in each; Natter alone on each store (PostgreSQL: a fresh database \`natter_bench_<random>\` on 127.0.0.1, dropped after). ` +
      `A driver process (\`bench/resume-driver.mjs\`) times each round trip on one open socket, from writing the \`sync\` frame to parsing the answer: the **initial sync** is a listing without a token, every page (the SDK's default page size), ${num(cfg.initialSyncs)} times; ` +
      `then ${cfg.changed} of the conversations get a message from another member, and the **resume** is a \`sync\` with the token the account held before, ${num(cfg.resumes)} times one after the other (each must list exactly those ${cfg.changed}); ` +
      `**reconnect + resume** adds a new socket's \`auth\` -> \`ready\` before it (${num(cfg.reconnects)} times). Server time: the deltas of \`natter_read_seconds{type="sync"}\` in /metrics over the same requests (frame parsed -> answer written; mean per request, and the histogram bucket that holds p50 / p99). Client latencies: p50 / p99 / p99.9 / max ms.`,
    '',
    '| store | initial sync, all pages (client) ms | pages | initial sync server ms per page: mean (buckets) | resume (client) ms | resume server ms: mean (buckets) | reconnect + resume (client) ms | wrong answers |',
    '|---|--:|--:|--:|--:|--:|--:|--:|',
  ];
  /** @type {string[]} */
  const targets = [];
  for (const run of res.runs) {
    if (run.error || run.skipped) {
      out.push(`| ${run.store} | not measured: ${run.error ?? run.skipped} | | | | | | |`);
      continue;
    }
    out.push(
      `| ${run.store} | ${lat4(run.initial.client)} | ${num(run.initial.pages)} | ${server(run.initial.server)} | ${lat4(run.resume.client)} | ${server(run.resume.server)} | ${lat4(run.resume.reconnect)} | ${num(run.resume.wrong)} |`,
    );
    const resumeMs = run.resume.server?.meanMs ?? Number.NaN;
    targets.push(
      `${run.store}: resume in one round trip with <= 5 ms server time ${run.resume.maxPages === 1 && resumeMs <= 5 ? 'met' : 'not met'} (${num(run.resume.maxPages)} round trip(s), ${ms(resumeMs)} ms mean), initial sync <= 100 ms ${run.initial.client.p50 <= 100 ? 'met' : 'not met'} (p50 ${ms(run.initial.client.p50)} ms)`,
    );
  }
  if (targets.length > 0) out.push('', `Targets: ${targets.join('; ')}.`);
  return out.join('\n').trim();
}

/** @param {any} s results of bench/storm.mjs @returns {string} */
function stormSection(s) {
  if (s.skipped || (s.error && s.resumed === undefined)) return `Not measured: ${s.skipped ?? s.error}`;
  const mib = (/** @type {number} */ b) => (Number.isFinite(b) ? `${num(b / 2 ** 20)} MiB` : '-');
  const dist = (/** @type {any} */ d) =>
    d ? `${num(d.p50)} / ${num(d.p90)} / ${num(d.p99)} / ${num(d.max)}` : '-';
  const out = [
    runOn(s.date, s.quick),
    '',
    `${num(s.connected)} idle clients (asked for ${num(s.requested)}; the hard RLIMIT_NOFILE is ${num(s.fdHardLimit)} and the server needs one descriptor per socket), each authenticated with its own JWT and synced once, from ${Math.ceil(s.count / s.config.perDriver)} driver processes (\`bench/storm-driver.mjs\`). ` +
      `Then the server gets SIGTERM: it drains (each client gets a \`reconnect\` frame with a random \`retry_after_ms\` up to ${num(s.config.drainMaxDelayMs)} ms, \`NATTER_DRAIN_MAX_DELAY_MS\`'s default, and a 1012 close) and exits; the same command starts again on the same port and data dir. ` +
      `Admission runs at its default (\`NATTER_MAX_UNAUTHENTICATED\` ${num(s.config.maxUnauthenticated ?? NaN)}: sockets beyond it get HTTP 503 and retry) except the per-address cap, raised because every client here comes from 127.0.0.1. ` +
      `Each client follows the SDK (\`NatterClient\`'s reconnect rule with the SDK's own \`restartRetryDelay\` / \`backoffDelay\` from packages/client/dist/backoff.js): retry after max(retry_after_ms, uniform 250-2,000 ms) while the server is restarting; each attempt is \`auth\` -> \`ready\` -> \`sync\` with its token, and the client has resumed when that answers. ` +
      `"Overrun" is a client's wait beyond what its backoff asked for: from its first attempt the restarted server could take (the first after /readyz answered, or an earlier one that succeeded) to its resume. Distributions: p50 / p90 / p99 / max ms.`,
    '',
    '| | value |',
    '|---|--:|',
    `| clients connected and synced before the restart | ${num(s.connected)} (${num(s.connectFailed)} failed${s.connectFailed ? `: ${errs(s.connectErrors)}` : ''}) in ${num(s.connectMs / 1000, 1)} s |`,
    `| drain (SIGTERM -> exit), exit code | ${num(s.drain?.ms)} ms, ${s.drain?.exitCode} |`,
    `| restart (spawn -> /readyz 200) | ${num(s.restart?.startMs)} ms (${num(s.restart?.downMs)} ms after SIGTERM) |`,
    `| **all resumed**, after /readyz / after SIGTERM | **${s.allResumedAfterReadyMs === null ? `not all (${num(s.failed)} failed)` : `${num(s.allResumedAfterReadyMs)} ms`}** / ${s.allResumedAfterStopMs === null ? '-' : `${num(s.allResumedAfterStopMs)} ms`} |`,
    `| resumed / failed (no resume within ${num(s.config.resumeTimeoutMs / 1000)} s) | ${num(s.resumed)} / ${num(s.failed)} |`,
    `| per-client time from its socket closing to its resume | ${dist(s.downMs)} |`,
    `| per-client time from /readyz to its resume | ${dist(s.sinceReadyMs)} |`,
    `| **per-client overrun** (wait beyond its backoff) | **${dist(s.overrunMs)}** |`,
    `| CPU from SIGTERM to all resumed: restarted server (from its start) / drivers / whole machine (cores) | ${s.cpu ? `${num(s.cpu.restartedServer, 2)} / ${s.cpu.drivers.map((/** @type {number} */ c) => num(c, 2)).join(' + ')} / ${num(s.cpu.machine, 2)} of ${machineInfo().cores}` : '-'} |`,
    `| clients that needed more than one attempt after /readyz (attempts in all; target 0) | ${num(s.clientsWithExtraAttempts)} (${num(s.extraAttempts)}) |`,
    `| reconnect attempts by outcome | ${errs(s.attemptOutcomes)} |`,
    `| SYNs dropped on a full listen queue during the storm (kernel ListenOverflows, machine-wide) | ${num(s.listenOverflows ?? NaN)} |`,
    `| server RSS with every client connected (before) | ${mib(s.rssBeforeBytes)} |`,
    `| **peak RSS of the restarted server during the storm** (sampled every ${s.config.rssSampleMs} ms) | **${mib(s.peakRssBytes)}** |`,
    `| RSS of the restarted server once all resumed | ${mib(s.rssAfterBytes)} |`,
  ];
  return out.join('\n').trim();
}

/** @param {any} c results of bench/channel.mjs @returns {string} */
function channelSection(c) {
  if (c.skipped || c.error) return `Not measured: ${c.skipped ?? c.error}`;
  const cfg = c.config;
  const server = (/** @type {any} */ s) =>
    s ? `${ms(s.meanMs)} (p50 <= ${ms(s.p50AtMostMs)}, p99 <= ${ms(s.p99AtMostMs)})` : '-';
  const runs = c.runs.filter((/** @type {any} */ r) => !r.error && !r.skipped);
  const online = runs[0]?.online ?? cfg.online;
  const out = [
    runOn(c.date, c.quick),
    '',
    `One channel (\`kind: "channel"\`, posting: everyone) of ${num(cfg.members)} members, Natter alone on each store (PostgreSQL: a fresh database \`natter_bench_<random>\` on 127.0.0.1, dropped after). ` +
      `**Adding the members**: ${num(cfg.atCreation)} named in \`POST /v1/conversations\` (the most it takes), the rest one \`POST /v1/conversations/:id/members\` each, ${cfg.addConcurrency} requests in flight (there is no bulk add; the server API's add is the same one-member call). ` +
      `**First sync and resume**: ${num(cfg.syncMembers)} members who joined at the creation (early: every membership event of the channel comes after their join) and ${num(cfg.syncMembers)} added last, none of them connected before, one after the other, each on a new socket: a \`sync\` without a token (every page), timed from writing the frame to parsing the last answer; then ${num(cfg.resumeAfterPosts)} posts while they are away, and each comes back: a new socket, \`sync\` with its token (must list the channel), and a \`fetch\` of the events it missed (100 a page); server time from the deltas of \`natter_read_seconds\` in /metrics over those requests (mean, and the bucket that holds p50 / p99). ` +
      `**Live fan-out**: ${num(online)} members connected (asked for ${num(cfg.requestedOnline)}; the hard RLIMIT_NOFILE is ${num(c.fdHardLimit)} and the server needs one descriptor per socket), each with its own JWT, 100 connecting at a time for at most ${num(cfg.connectBudgetMs / 1000)} s (the members connected by then take part), ${num(cfg.perDriver)} a driver process (\`bench/channel-driver.mjs\`), and ${cfg.posters} posters spread over the drivers. ` +
      `Open loop: post i is made at start + i / rate (${cfg.bodyBytes}-byte bodies) and every delivery is timed from that scheduled time (drivers share the machine's clock); each step offers a number of deliveries/s (posts/s x connected members), runs ${num(cfg.step.durationMs / 1000, 1)} s, the first ${num(cfg.step.warmupMs / 1000, 1)} s unrecorded; ` +
      `sustained = posts acked >= 95% of offered, deliveries >= 95% of posts x members connected, p99 post->deliver <= ${num(cfg.sustain.maxP99Ms)} ms (a post reaches its connected members one socket write after another in one turn of the server's event loop, so the 200 ms bar of the 1:1 and group scenarios would measure a single post's fan-out); a failing step is retried once, then the step-up stops. ` +
      `Server CPU over the recorded window (one core = 100%); peak RSS sampled every 100 ms over the whole run of that store. Latencies: p50 / p99 / p99.9 / max ms.`,
    '',
    '| store | members added in (rate) | joined | first sync, client ms | first sync server ms: mean (buckets) | resume after posts: sync, client ms | resume sync server ms | connect + sync + fetch of missed events, client ms | fetch server ms per page | wrong answers |',
    '|---|--:|---|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const run of c.runs) {
    if (run.error || run.skipped || !run.firstSync || !run.resume?.late) {
      out.push(
        `| ${run.store} | not measured: ${run.error ?? run.skipped ?? 'incomplete'} | | | | | | | | |`,
      );
      continue;
    }
    for (const group of ['early', 'late']) {
      const [f, r] = [run.firstSync[group], run.resume[group]];
      out.push(
        `| ${run.store} | ${group === 'early' ? `${num((run.createMs + run.addMs) / 1000, 1)} s (${num(run.addRate)}/s)` : ''} | ${group === 'early' ? 'at creation' : 'last'} | ${lat4(f.client)} | ${server(f.server)} | ${lat4(r.client)} | ${server(r.server)} | ${lat4(r.connected)} (${num(r.fetched / Math.max(1, r.times))} events) | ${server(r.serverFetch)} | ${num(f.wrong + r.wrong)} |`,
      );
    }
  }
  out.push(
    '',
    '| store | posts/s offered | deliveries/s offered | posts acked/s | **deliveries/s** | post->ack ms | post->deliver ms | lost at step end | server CPU | server RSS MiB | driver CPU | sustained |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  );
  for (const run of c.runs) {
    for (const s of run.steps ?? [])
      out.push(
        `| ${run.store} | ${num(s.offeredRate, 2)}${s.retry ? ' (retry)' : ''} | ${num(s.offeredDeliveryRate)} | ${num(s.ackedRate, 1)} | ${num(s.deliveredRate)} | ${lat4(s.ack)} | ${lat4(s.deliver)} | ${num(s.lostDeliveries)} | ${pct(s.serverCpu)} | ${num(s.serverRssMiB)} | ${s.driverCpu.map(pct).join(' + ')} | ${s.sustained ? 'yes' : s.aborted ? 'no (backlog > 3 s, stopped)' : 'no'} |`,
      );
  }
  out.push(
    '',
    '| at the highest sustained step | ' + c.runs.map((/** @type {any} */ r) => r.store).join(' | ') + ' |',
  );
  out.push(`|---|${c.runs.map(() => '--:').join('|')}|`);
  const row = (/** @type {string} */ label, /** @type {(r: any) => string} */ f) =>
    out.push(`| ${label} | ${c.runs.map((/** @type {any} */ r) => (r.error ? '-' : f(r))).join(' | ')} |`);
  row('members connected', (r) => num(r.online));
  row('**posts/s**', (r) => `**${num(r.maxSustainedRate, 2)}**`);
  row('**deliveries/s**', (r) => `**${num(r.maxSustainedDeliveryRate)}**`);
  row('post->deliver p99 ms', (r) => ms(r.maxSustainedP99Ms ?? Number.NaN));
  row('server CPU', (r) => (r.maxSustainedServerCpu === null ? '-' : pct(r.maxSustainedServerCpu)));
  row('posts/s / deliveries/s kept up with, latency aside (>= 95% acked and delivered)', (r) =>
    r.maxThroughputRate === undefined
      ? '-'
      : `${num(r.maxThroughputRate, 2)} / ${num(r.maxThroughputDeliveryRate)}`,
  );
  row(
    'server RSS: after adding / with members connected / **peak** MiB',
    (r) => `${num(r.rssAfterAddMiB)} / ${num(r.rssConnectedMiB)} / **${num(r.peakRssMiB)}**`,
  );
  row(
    'members connected in (failed; not tried within the budget)',
    (r) => `${num(r.connectMs / 1000, 1)} s (${num(r.connectFailed)}; ${num(r.connectNotTried ?? 0)})`,
  );
  row(
    'store run, all in',
    (r) => `${num(r.elapsedMs / 1000)} s${r.truncated ? ' (step-up cut by the time budget)' : ''}`,
  );
  return out.join('\n').trim();
}
