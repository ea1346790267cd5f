// Scenario 5 of `npm run bench` (`--only cluster`): Natter on PostgreSQL + Redis, one node vs three, with
// 1:1 traffic and with 50-member groups. Every (node count, workload) pair gets a fresh database
// (natter_bench_<random>, dropped after) and its own Redis prefix (its keys deleted after); the nodes
// (packages/server/dist/main.js with the cluster settings) and the drivers (bench/cluster-driver.mjs) are
// separate processes on 127.0.0.1. Each user is connected to a node chosen here (a client-side node list,
// no balancer), so the share of deliveries that cross nodes is set by the harness and measured.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { mergeEncoded, summarize } from './histogram.mjs';
import { machineInfo } from './report.mjs';
import {
  forkDriver,
  machineCpu,
  makePairs,
  procStats,
  scrapeMetrics,
  signToken,
  sleep,
  startTarget,
} from './targets.mjs';

const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CLK_TCK = 100;

/** @typedef {'direct'|'direct-local'|'group'} Workload */

/** @param {string | undefined} list @param {number[]} fallback */
const rates = (list, fallback) => (list ? list.split(',').map(Number) : fallback);

/**
 * The scenario's settings. BENCH_CLUSTER_RATES_DIRECT / BENCH_CLUSTER_RATES_GROUP (comma-separated sends/s)
 * replace the step ladders, e.g. to probe another machine.
 * @param {boolean} quick
 */
export function clusterConfig(quick) {
  return {
    /** in this order; the last one (1:1 with both users of each pair on one node) isolates the bus from the store */
    runs: /** @type {{nodeCount: number, workload: Workload, rates?: number[]}[]} */ ([
      { nodeCount: 1, workload: 'direct' },
      { nodeCount: 3, workload: 'direct' },
      { nodeCount: 1, workload: 'group' },
      { nodeCount: 3, workload: 'group' },
      { nodeCount: 3, workload: 'direct-local', rates: [250, 500, 1000] },
    ]),
    drivers: 2,
    bodyBytes: 100,
    direct: {
      pairs: 500,
      rates: rates(process.env.BENCH_CLUSTER_RATES_DIRECT, [250, 500, 1000, 2000, 4000, 6000, 8000]),
    },
    group: {
      groups: 20,
      size: 50,
      rates: rates(process.env.BENCH_CLUSTER_RATES_GROUP, [40, 80, 160, 320, 640, 1280]),
    },
    step: { durationMs: quick ? 4000 : 6000, warmupMs: 2000 },
    /** after the step-up: how long to wait for frames still in flight before counting a message lost */
    settleMs: 10_000,
    graceMs: 3000,
    maxBacklogMs: 3000,
    /** sustained = acked and delivered >= 95% of offered (deliveries: offered x fan-out), p99 (ack, deliver) <= 200 ms */
    sustain: { minRatio: 0.95, maxP99Ms: 200 },
    /** a hard stop for the whole scenario; every step is bounded as well */
    budgetMs: 300_000,
  };
}

/**
 * CPU seconds of every process named `comm` (e.g. each postgres backend), by pid, from /proc.
 * @param {string} comm @returns {Map<string, number>}
 */
function procsNamed(comm) {
  const out = new Map();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (name !== comm) continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, (Number(f[11]) + Number(f[12])) / CLK_TCK);
    } catch {
      // the process went away
    }
  }
  return out;
}

/**
 * CPU seconds used between two procsNamed() samples: processes present in both count their difference,
 * processes that started in between count all of theirs (those that exited in between are not seen).
 * @param {Map<string, number>} a @param {Map<string, number>} b
 */
function cpuBetween(a, b) {
  let sum = 0;
  for (const [pid, t] of b) sum += t - (a.get(pid) ?? 0);
  return sum;
}

/** PostgreSQL and Redis versions and the settings that matter here; throws when either is unreachable. */
async function services() {
  const sql = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5000 });
  try {
    const [v] = await sql`SELECT current_setting('server_version') AS version,
      current_setting('fsync') AS fsync, current_setting('shared_buffers') AS shared_buffers,
      current_setting('max_connections') AS max_connections, current_setting('wal_sync_method') AS wal_sync`;
    await redis.connect();
    const info = await redis.info('server');
    const persistence = await redis.info('persistence');
    return {
      postgres: v,
      redis: {
        version: /redis_version:(\S+)/.exec(info)?.[1] ?? '?',
        aof: /aof_enabled:(\d)/.exec(persistence)?.[1] === '1',
      },
    };
  } finally {
    await sql.end({ timeout: 2 });
    redis.disconnect();
  }
}

/** Creates a database of its own for one run. */
export async function createDatabase() {
  const name = `natter_bench_${randomBytes(5).toString('hex')}`;
  const sql = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await sql.end({ timeout: 2 });
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return { name, url: url.toString() };
}

/** @param {string} name */
export async function dropDatabase(name) {
  const sql = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/** Deletes every Redis key under `prefix`; returns how many. @param {string} prefix */
async function deleteRedisKeys(prefix) {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/**
 * Conversations with each member's node. 1:1 ('direct'): pair i puts a on node i mod N and b `floor(i/N) mod N`
 * nodes further, so with N = 3 a third of the pairs share a node and two thirds do not (what a random balancer
 * gives). 'direct-local': both users of every pair on one node (pairs spread over the nodes), nothing crosses.
 * Groups: member m of group g on node (m + g) mod N, so every node holds a third of each group.
 * @param {Workload} workload @param {any} cfg @param {import('./targets.mjs').Target[]} nodes
 * @returns {Promise<import('./cluster-driver.mjs').Conversation[]>}
 */
export async function makeConversations(workload, cfg, nodes) {
  const n = nodes.length;
  const member = (/** @type {{user_id: string, token: string}} */ u, /** @type {number} */ node) => ({
    ...u,
    node,
    url: nodes[node].wsUrl,
  });
  if (workload === 'direct-local') {
    const pairs = await makePairs(nodes[0], cfg.direct.pairs);
    return pairs.map((p, i) => ({
      conversation_id: p.conversation_id,
      members: [member(p.a, i % n), member(p.b, i % n)],
    }));
  }
  if (workload === 'direct') {
    const pairs = await makePairs(nodes[0], cfg.direct.pairs);
    return pairs.map((p, i) => {
      const na = i % n;
      const nb = (na + (Math.floor(i / n) % n)) % n;
      return { conversation_id: p.conversation_id, members: [member(p.a, na), member(p.b, nb)] };
    });
  }
  const secret = nodes[0].secret;
  const out = [];
  for (let g = 0; g < cfg.group.groups; g++) {
    const users = await Promise.all(
      Array.from({ length: cfg.group.size }, async (_, m) => {
        const user_id = `bench-g${g}m${m}`;
        return { user_id, token: await signToken(secret, user_id) };
      }),
    );
    const origin = nodes[g % n];
    const res = await fetch(`${origin.httpUrl}/v1/conversations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${users[0].token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: `bench group ${g}`, member_ids: users.slice(1).map((u) => u.user_id) }),
    });
    const body = await res.json().catch(() => ({}));
    const id = body?.conversation?.conversation_id;
    if (res.status !== 201 || typeof id !== 'string')
      throw new Error(`POST /v1/conversations -> ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
    out.push({ conversation_id: id, members: users.map((u, m) => member(u, (m + g) % n)) });
  }
  return out;
}

/**
 * Deltas of one node's /metrics over a step.
 * @param {Record<string, number>} m0 @param {Record<string, number>} m1 @param {number} seconds
 */
function nodeMetrics(m0, m1, seconds) {
  const d = (/** @type {string} */ k) => (m1[k] ?? 0) - (m0[k] ?? 0);
  const sumOf = (/** @type {string} */ prefix) =>
    Object.keys(m1)
      .filter((k) => k === prefix || k.startsWith(`${prefix}{`))
      .reduce((a, k) => a + d(k), 0);
  const commits = d('natter_commit_flush_seconds_count');
  return {
    commitsPerSecond: commits / seconds,
    meanBatch: commits > 0 ? d('natter_commit_batch_size_sum') / d('natter_commit_batch_size_count') : NaN,
    meanCommitMs: commits > 0 ? (1000 * d('natter_commit_flush_seconds_sum')) / commits : NaN,
    /** share of wall time a commit was in flight (they can overlap: above 100% means pipelined commits) */
    commitShare: d('natter_commit_flush_seconds_sum') / seconds,
    busPublishedPerSecond: sumOf('natter_bus_published_total') / seconds,
    busReceivedPerSecond: sumOf('natter_bus_received_total') / seconds,
    busDropped: sumOf('natter_bus_dropped_total'),
    errors: sumOf('natter_errors_total'),
    loopLagP99Ms: 1000 * (m1.nodejs_eventloop_lag_p99_seconds ?? NaN),
  };
}

/**
 * One open-loop step at `rate` sends/s, spread over the drivers, with CPU of every process around it.
 * @param {any} cfg @param {import('./targets.mjs').Target[]} nodes @param {ReturnType<typeof forkDriver>[]} drivers
 * @param {number} rate @param {number} fanout deliveries per send @param {number} runId
 */
async function runStep(cfg, nodes, drivers, rate, fanout, runId) {
  const { durationMs, warmupMs } = cfg.step;
  const startAt = Date.now() + 300;
  const sample = async (/** @type {number} */ at) => {
    await sleep(Math.max(0, at - Date.now()));
    const metrics = await Promise.all(nodes.map((n) => scrapeMetrics(n.httpUrl)));
    return {
      t: Date.now(),
      nodes: nodes.map((n) => procStats(n.pid)),
      postgres: procsNamed('postgres'),
      redis: procsNamed('redis-server'),
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
            rate: rate / drivers.length,
            durationMs,
            warmupMs,
            graceMs: cfg.graceMs,
            bodyBytes: cfg.bodyBytes,
            maxBacklogMs: cfg.maxBacklogMs,
          },
          durationMs + cfg.graceMs + 30_000,
        ),
      ),
    ),
    sample(startAt + warmupMs),
    sample(startAt + durationMs),
  ]);
  const sum = (/** @type {string} */ k) => results.reduce((a, r) => a + r[k], 0);
  /** @type {Record<string, number>} */
  const errors = {};
  for (const r of results) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
  const seconds = Math.max(0.001, (s1.t - s0.t) / 1000);
  const cores = machineInfo().cores;
  const nodeCpu = nodes.map((_, i) => (s1.nodes[i].cpuSeconds - s0.nodes[i].cpuSeconds) / seconds);
  const driverCpu = results.map((r) => r.driverCpu);
  const postgresCpu = cpuBetween(s0.postgres, s1.postgres) / seconds;
  const redisCpu = cpuBetween(s0.redis, s1.redis) / seconds;
  const machine =
    ((s1.machine.busy - s0.machine.busy) / Math.max(1, s1.machine.total - s0.machine.total)) * cores;
  const ack = summarize(mergeEncoded(results.map((r) => r.ackHist)));
  const deliver = summarize(mergeEncoded(results.map((r) => r.deliverHist)));
  const ackedRate = results.reduce((a, r) => a + (r.ackedInWindow * 1000) / r.windowMs, 0);
  const deliveredRate = results.reduce((a, r) => a + (r.deliveredInWindow * 1000) / r.windowMs, 0);
  const aborted = results.some((r) => r.aborted);
  const out = {
    offeredRate: rate,
    fanout,
    offeredDeliveryRate: rate * fanout,
    measuredSeconds: (durationMs - warmupMs) / 1000,
    ackedRate,
    deliveredRate,
    sent: sum('sent'),
    acked: sum('acked'),
    expected: sum('expected'),
    delivered: sum('delivered'),
    lostAcks: sum('lostAcks'),
    lostDeliveries: sum('lostDeliveries'),
    duplicates: sum('duplicates'),
    echoes: sum('echoes'),
    /** fraction of deliveries whose recipient is connected to another node than the sender */
    crossShare: sum('delivered') > 0 ? sum('crossDelivered') / sum('delivered') : 0,
    aborted,
    errors,
    closed: sum('closed'),
    ack,
    deliver,
    sameNode: summarize(mergeEncoded(results.map((r) => r.sameNodeHist))),
    crossNode: summarize(mergeEncoded(results.map((r) => r.crossNodeHist))),
    nodeCpu,
    nodeRssMiB: s1.nodes.map((p) => p.rssBytes / 2 ** 20),
    nodes: nodes.map((_, i) => nodeMetrics(s0.metrics[i], s1.metrics[i], seconds)),
    postgresCpu,
    postgresProcesses: s1.postgres.size,
    redisCpu,
    driverCpu,
    machineCpu: machine,
    otherCpu: 0,
    driverLagP99Ms: Math.max(...results.map((r) => r.driverLagP99Ms)),
    sustained: false,
  };
  out.otherCpu = Math.max(
    0,
    machine -
      nodeCpu.reduce((a, b) => a + b, 0) -
      postgresCpu -
      redisCpu -
      driverCpu.reduce((a, b) => a + b, 0),
  );
  out.sustained =
    !aborted &&
    ackedRate >= cfg.sustain.minRatio * rate &&
    deliveredRate >= cfg.sustain.minRatio * rate * fanout &&
    ack.p99 <= cfg.sustain.maxP99Ms &&
    deliver.p99 <= cfg.sustain.maxP99Ms;
  return out;
}

/** @param {any} s */
export function fmtClusterStep(s) {
  const pctOf = (/** @type {number} */ c) => `${(c * 100).toFixed(0)}%`;
  return (
    `offered ${s.offeredRate}/s acked ${s.ackedRate.toFixed(0)}/s delivered ${s.deliveredRate.toFixed(0)}/s ` +
    `ack p99 ${s.ack.p99} deliver p50 ${s.deliver.p50} p99 ${s.deliver.p99} p999 ${s.deliver.p999} ms ` +
    `cross ${pctOf(s.crossShare)} lost ${s.lostAcks}/${s.lostDeliveries} dup ${s.duplicates} ` +
    `nodes ${s.nodeCpu.map(pctOf).join('/')} pg ${pctOf(s.postgresCpu)} redis ${pctOf(s.redisCpu)} ` +
    `drivers ${s.driverCpu.map(pctOf).join('/')} machine ${s.machineCpu.toFixed(2)}` +
    `${s.sustained ? '' : s.aborted ? ' ABORTED' : ' NOT SUSTAINED'}`
  );
}

/** Stops the nodes and collects what their logs say. @param {import('./targets.mjs').Target[]} nodes */
export async function stopNodes(nodes) {
  const out = [];
  for (const exit of await Promise.all(nodes.map((n) => n.stop()))) out.push({ exitCode: exit });
  nodes.forEach((n, i) => {
    let text = '';
    try {
      text = readFileSync(n.logFile, 'utf8');
    } catch {
      // no log
    }
    const lines = text.split('\n').filter(Boolean);
    const problems = lines.filter((l) => /"level":(40|50|60)/.test(l) || !l.startsWith('{'));
    out[i].warnOrErrorLines = problems.length;
    out[i].sample = problems.slice(0, 3).map((l) => l.slice(0, 300));
  });
  return out;
}

/**
 * Steps up through `rates` (sends/s) on connected drivers: stops at the first step not sustained (after
 * one retry), then bisects once between the last sustained and the failing rate (rounded to `unit`), and
 * finally tallies every step's late frames. Bounded by `deadline` (epoch ms).
 * @param {{ cfg: any, nodes: import('./targets.mjs').Target[], drivers: ReturnType<typeof forkDriver>[],
 *   rates: number[], fanout: number, unit: number, deadline: number, log: (msg: string) => void }} o
 * @returns {Promise<{ steps: any[], maxSustainedRate: number, truncated?: boolean }>}
 */
export async function stepUp({ cfg, nodes, drivers, rates, fanout, unit, deadline, log }) {
  /** @type {any} */
  const out = { steps: [] };
  const stepMs = cfg.step.durationMs + cfg.graceMs + 2000;
  let runId = 0;
  for (const rate of rates) {
    if (Date.now() + stepMs > deadline) {
      out.truncated = true;
      log(`time budget reached, stopping the step-up`);
      break;
    }
    let step = await runStep(cfg, nodes, drivers, rate, fanout, runId++);
    out.steps.push(step);
    log(`${fmtClusterStep(step)}`);
    if (!step.sustained && Date.now() + stepMs < deadline) {
      // One bad step on a shared 2-core machine can be one stall (an fsync, a neighbour): confirm it once.
      await sleep(2000);
      step = { ...(await runStep(cfg, nodes, drivers, rate, fanout, runId++)), retry: true };
      out.steps.push(step);
      log(`retry ${fmtClusterStep(step)}`);
    }
    if (!step.sustained) break;
    await sleep(1000);
  }
  // One bisection step between the last sustained and the first failing rate, when they are far apart.
  const failedStep = out.steps.at(-1);
  const ok = out.steps
    .filter((/** @type {any} */ s) => s.sustained)
    .map((/** @type {any} */ s) => s.offeredRate);
  const lastOk = Math.max(0, ...ok);
  if (
    failedStep &&
    !failedStep.sustained &&
    failedStep.offeredRate >= lastOk * 1.3 &&
    Date.now() + stepMs < deadline
  ) {
    const rate = Math.round((lastOk + failedStep.offeredRate) / 2 / unit) * unit;
    if (rate > lastOk && rate < failedStep.offeredRate) {
      await sleep(2000);
      const step = { ...(await runStep(cfg, nodes, drivers, rate, fanout, runId++)), refine: true };
      out.steps.push(step);
      log(`bisect ${fmtClusterStep(step)}`);
    }
  }
  // Late frames: a message still unacked or undelivered when its step ended is lost only if it never comes.
  const tallies = await Promise.all(
    drivers.map((d) => d.request({ cmd: 'tally', settleMs: cfg.settleMs }, cfg.settleMs + 10_000)),
  );
  out.steps.forEach((/** @type {any} */ step, /** @type {number} */ k) => {
    const mine = tallies.flatMap((t) => t.runs.filter((/** @type {any} */ x) => x.runId === k));
    const total = (/** @type {string} */ f) => mine.reduce((a, x) => a + x[f], 0);
    step.final = {
      lostAcks: total('sent') - total('acked'),
      lostDeliveries: total('expected') - total('delivered'),
      duplicates: total('duplicates'),
    };
  });
  out.maxSustainedRate = Math.max(
    0,
    ...out.steps.filter((/** @type {any} */ s) => s.sustained).map((/** @type {any} */ s) => s.offeredRate),
  );
  return out;
}

/**
 * One (node count, workload) run: fresh database and prefix, nodes, conversations, drivers, step-up.
 * @param {any} cfg @param {number} nodeCount @param {Workload} workload
 * @param {(msg: string) => void} log @param {number} deadline epoch ms by which to stop stepping up
 * @param {number[] | undefined} ladder sends/s to step through (default: the workload's)
 */
async function runOne(cfg, nodeCount, workload, log, deadline, ladder) {
  const what = {
    direct: '1:1',
    'direct-local': '1:1, both users of each pair on one node',
    group: `${cfg.group.size}-member groups`,
  }[workload];
  const name = `${nodeCount} node${nodeCount > 1 ? 's' : ''}, ${what}`;
  const db = await createDatabase();
  const prefix = `natter-bench-${randomBytes(4).toString('hex')}:`;
  const secret = `bench-secret-${randomBytes(8).toString('hex')}-0123456789`;
  /** @type {import('./targets.mjs').Target[]} */
  const nodes = [];
  /** @type {ReturnType<typeof forkDriver>[]} */
  const drivers = [];
  /** @type {any} */
  const out = { nodeCount, workload, name, database: db.name, redisPrefix: prefix, steps: [] };
  const t0 = Date.now();
  try {
    const env = {
      NATTER_STORE: 'postgres',
      DATABASE_URL: db.url,
      NATTER_CLUSTER: 'redis',
      REDIS_URL,
      NATTER_REDIS_PREFIX: prefix,
    };
    // Started one after the other: the first migrates the schema, the others find it in place.
    for (let i = 0; i < nodeCount; i++)
      nodes.push(
        await startTarget('natter', { secret, env: { ...env, NATTER_NODE_ID: `bench-node-${i + 1}` } }),
      );
    out.startMs = Date.now() - t0;
    const t1 = Date.now();
    const conversations = await makeConversations(workload, cfg, nodes);
    out.setupMs = Date.now() - t1;
    out.conversations = conversations.length;
    out.conversationSize = conversations[0].members.length;
    const fanout = out.conversationSize - 1;
    for (let d = 0; d < cfg.drivers; d++) drivers.push(forkDriver('cluster-driver.mjs'));
    const connected = await Promise.all(
      drivers.map((drv, d) =>
        drv.request(
          {
            cmd: 'connect',
            driverId: d,
            conversations: conversations.filter((_, i) => i % cfg.drivers === d),
          },
          60_000,
        ),
      ),
    );
    const failed = connected.reduce((a, c) => a + c.failed, 0);
    if (failed > 0)
      throw new Error(`${failed} connections failed: ${connected.find((c) => c.firstError)?.firstError}`);
    out.sockets = connected.reduce((a, c) => a + c.sockets, 0);
    out.connectMs = Math.max(...connected.map((c) => c.ms));
    out.socketsPerNode = nodes.map(
      (_, i) => conversations.flatMap((c) => c.members).filter((m) => m.node === i).length,
    );
    log(
      `cluster ${name}: nodes up in ${out.startMs} ms, ${out.conversations} conversations in ${out.setupMs} ms, ${out.sockets} sockets (${out.socketsPerNode.join('/')}) in ${out.connectMs} ms`,
    );
    const rates = ladder ?? (workload === 'group' ? cfg.group.rates : cfg.direct.rates);
    out.rates = rates;
    const unit = workload === 'group' ? 5 : 25;
    Object.assign(
      out,
      await stepUp({
        cfg,
        nodes,
        drivers,
        rates,
        fanout,
        unit,
        deadline,
        log: (m) => log(`cluster ${name}: ${m}`),
      }),
    );
  } finally {
    await Promise.all(drivers.map((d) => d.close()));
    out.server = await stopNodes(nodes);
    try {
      await dropDatabase(db.name);
      out.redisKeysDeleted = await deleteRedisKeys(prefix);
    } catch (err) {
      log(`cluster ${name}: clean-up failed: ${/** @type {Error} */ (err).message}`);
    }
    for (const n of nodes) rmSync(n.dataDir, { recursive: true, force: true });
  }
  out.elapsedMs = Date.now() - t0;
  return out;
}

/**
 * The whole cluster scenario: cfg.runs in order, narrowed to `nodeCounts` and `workloads` when given.
 * @param {{ quick: boolean, log: (msg: string) => void, nodeCounts?: number[], workloads?: string[],
 *   fsync?: { medianMs: number, p99Ms: number } }} o
 */
export async function clusterScenario(o) {
  const cfg = clusterConfig(o.quick);
  cfg.runs = cfg.runs.filter(
    (r) =>
      (!o.nodeCounts || o.nodeCounts.includes(r.nodeCount)) &&
      (!o.workloads || o.workloads.includes(r.workload)),
  );
  const started = Date.now();
  /** @type {any} */
  const out = {
    date: new Date().toISOString(),
    machine: { ...machineInfo(), fsync: o.fsync },
    config: cfg,
    quick: o.quick,
    runs: [],
  };
  try {
    out.services = await services();
  } catch (err) {
    return {
      ...out,
      skipped: `PostgreSQL (${PG_ADMIN_URL}) or Redis (${REDIS_URL}) not reachable: ${/** @type {Error} */ (err).message}`,
    };
  }
  const a = machineCpu();
  await sleep(2000);
  const b = machineCpu();
  out.machine.backgroundCores = ((b.busy - a.busy) / Math.max(1, b.total - a.total)) * out.machine.cores;
  const deadline = started + cfg.budgetMs;
  for (const { nodeCount, workload, rates: ladder } of cfg.runs) {
    if (Date.now() > deadline - 30_000) {
      out.runs.push({ nodeCount, workload, skipped: 'time budget of the cluster scenario used up' });
      continue;
    }
    try {
      out.runs.push(await runOne(cfg, nodeCount, workload, o.log, deadline, ladder));
    } catch (err) {
      o.log(`cluster ${nodeCount} x ${workload} failed: ${/** @type {Error} */ (err).message}`);
      out.runs.push({ nodeCount, workload, error: String(/** @type {Error} */ (err).message ?? err) });
    }
  }
  out.elapsedSeconds = (Date.now() - started) / 1000;
  return out;
}
