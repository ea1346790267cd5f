// The `groups` scenario of `npm run bench`: 50-member groups, Natter (SQLite, one process) and the
// Socket.IO relay (one room per group) on the same workload, drivers and step-up. Every member of a group
// has its own socket; a send goes to the 49 others. Server, relay and drivers (bench/cluster-driver.mjs)
// are separate processes on 127.0.0.1.
import { existsSync, rmSync } from 'node:fs';
import { makeConversations, stepUp, stopNodes } from './cluster.mjs';
import { forkDriver, NATTER_MAIN, startTarget } from './targets.mjs';

/** @param {boolean} quick */
export function groupsConfig(quick) {
  return {
    groups: 20,
    size: 50,
    drivers: 2,
    bodyBytes: 100,
    /** sends/s; each is delivered to size - 1 members */
    rates: [100, 200, 400, 700, 1000, 1400],
    step: { durationMs: quick ? 3500 : 5000, warmupMs: 1500 },
    graceMs: 2000,
    settleMs: 5000,
    maxBacklogMs: 3000,
    /** sustained = acked >= 95% of sends, delivered >= 95% of sends x 49, p99 (ack, deliver) <= 200 ms */
    sustain: { minRatio: 0.95, maxP99Ms: 200 },
    /** per target (Natter, then the relay); every step is bounded as well */
    budgetMs: quick ? 45_000 : 60_000,
  };
}

/**
 * One target: start it, make the groups, connect every member, step up.
 * @param {'natter'|'relay'} kind @param {ReturnType<typeof groupsConfig>} cfg @param {(msg: string) => void} log
 */
async function runTarget(kind, cfg, log) {
  const t0 = Date.now();
  const target = await startTarget(kind);
  /** @type {ReturnType<typeof forkDriver>[]} */
  const drivers = [];
  /** @type {any} */
  const out = { kind };
  try {
    const conversations =
      kind === 'natter'
        ? await makeConversations('group', { group: { groups: cfg.groups, size: cfg.size } }, [target])
        : Array.from({ length: cfg.groups }, (_, g) => ({
            conversation_id: `g${g}`,
            members: Array.from({ length: cfg.size }, (_, m) => ({
              user_id: `bench-g${g}m${m}`,
              token: '',
              url: target.wsUrl,
              node: 0,
            })),
          }));
    out.setupMs = Date.now() - t0;
    for (let d = 0; d < cfg.drivers; d++) drivers.push(forkDriver('cluster-driver.mjs'));
    const connected = await Promise.all(
      drivers.map((drv, d) =>
        drv.request(
          {
            cmd: 'connect',
            driverId: d,
            target: kind === 'natter' ? 'natter' : 'socketio',
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
    log(`groups ${kind}: ${cfg.groups} groups of ${cfg.size}, ${out.sockets} sockets in ${out.connectMs} ms`);
    Object.assign(
      out,
      await stepUp({
        cfg,
        nodes: [target],
        drivers,
        rates: cfg.rates,
        fanout: cfg.size - 1,
        unit: 25,
        deadline: t0 + cfg.budgetMs,
        log: (m) => log(`groups ${kind}: ${m}`),
      }),
    );
    const top = out.steps.findLast(
      (/** @type {any} */ s) => s.sustained && s.offeredRate === out.maxSustainedRate,
    );
    out.maxSustainedDeliveryRate = top?.deliveredRate ?? 0;
  } finally {
    await Promise.all(drivers.map((d) => d.close()));
    [out.server] = await stopNodes([target]);
    rmSync(target.dataDir, { recursive: true, force: true });
  }
  out.elapsedMs = Date.now() - t0;
  return out;
}

/**
 * The whole scenario: Natter, then the relay, each bounded by cfg.budgetMs.
 * @param {{ quick: boolean, log: (msg: string) => void }} o
 */
export async function groupsScenario(o) {
  const cfg = groupsConfig(o.quick);
  /** @type {any} */
  const out = { date: new Date().toISOString(), quick: o.quick, config: cfg };
  const attempt = async (/** @type {'natter'|'relay'} */ kind) => {
    try {
      return await runTarget(kind, cfg, o.log);
    } catch (err) {
      o.log(`groups ${kind} failed: ${/** @type {Error} */ (err).message}`);
      return { kind, error: String(/** @type {Error} */ (err).message ?? err) };
    }
  };
  out.natter = existsSync(NATTER_MAIN) ? await attempt('natter') : { skipped: 'Natter is not built' };
  out.relay = await attempt('relay');
  return out;
}
