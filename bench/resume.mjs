// The `resume` scenario of `npm run bench`: one account in 1,000 conversations (groups and direct), on
// SQLite and on PostgreSQL. Its initial sync (no token, every page) and its resume (sync with the token it
// held before 3 of those conversations changed) are timed by a driver process (bench/resume-driver.mjs)
// as round trips, and on the server by the deltas of `natter_read_seconds{type="sync"}` in /metrics.
import { rmSync } from 'node:fs';
import { createDatabase, dropDatabase, stopNodes } from './cluster.mjs';
import { mergeEncoded, summarize } from './histogram.mjs';
import { forkDriver, scrapeMetrics, signToken, startTarget } from './targets.mjs';

/** @param {boolean} quick */
export function resumeConfig(quick) {
  return {
    direct: 600,
    groups: 400,
    /** members of each group besides the account */
    groupPeers: 4,
    changed: 3,
    initialSyncs: quick ? 5 : 10,
    resumes: quick ? 50 : 200,
    reconnects: quick ? 10 : 50,
    stores: /** @type {('sqlite'|'postgres')[]} */ (['sqlite', 'postgres']),
  };
}

/**
 * Creates `cfg.direct` direct conversations and `cfg.groups` groups for the account, 16 at a time.
 * @param {import('./targets.mjs').Target} target @param {ReturnType<typeof resumeConfig>} cfg
 * @param {string} token the account's
 * @returns {Promise<{ id: string, writer: string }[]>} each conversation and one other member of it
 */
async function makeAccount(target, cfg, token) {
  const total = cfg.direct + cfg.groups;
  /** @type {{ id: string, writer: string }[]} */
  const out = new Array(total);
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const direct = i < cfg.direct;
      const peers = direct
        ? [`bench-rp${i}`]
        : Array.from({ length: cfg.groupPeers }, (_, k) => `bench-rg${i}m${k}`);
      const res = await fetch(`${target.httpUrl}/v1/conversations${direct ? '/direct' : ''}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(
          direct ? { user_id: peers[0] } : { title: `resume group ${i}`, member_ids: peers },
        ),
      });
      const body = await res.json().catch(() => ({}));
      const id = body?.conversation?.conversation_id;
      if (res.status >= 300 || typeof id !== 'string')
        throw new Error(`creating conversation ${i} -> ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
      out[i] = { id, writer: peers[0] };
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return out;
}

/**
 * The server's own time for read frames of one type (`sync`, `fetch`...) between two /metrics scrapes:
 * mean, and the bucket that holds the p50 / p99 (an upper bound).
 * @param {Record<string, number>} m0 @param {Record<string, number>} m1 @param {string} [type]
 */
export function serverReadTime(m0, m1, type = 'sync') {
  const d = (/** @type {string} */ k) => (m1[k] ?? 0) - (m0[k] ?? 0);
  const count = d(`natter_read_seconds_count{type="${type}"}`);
  if (!(count > 0)) return null;
  const buckets = Object.keys(m1)
    .map((k) =>
      new RegExp(`^natter_read_seconds_bucket\\{(?=.*type="${type}")(?=.*le="([^"]+)").*\\}$`).exec(k),
    )
    .filter((m) => m !== null)
    .map((m) => ({ le: Number(m[1]), n: d(m[0]) }))
    .sort((a, b) => a.le - b.le);
  const bound = (/** @type {number} */ q) =>
    1000 * (buckets.find((b) => b.n >= q * count)?.le ?? Number.POSITIVE_INFINITY);
  return {
    requests: count,
    meanMs: (1000 * d(`natter_read_seconds_sum{type="${type}"}`)) / count,
    p50AtMostMs: bound(0.5),
    p99AtMostMs: bound(0.99),
  };
}

/**
 * One store: start Natter on it, build the account, time its initial syncs and its resumes.
 * @param {'sqlite'|'postgres'} store @param {ReturnType<typeof resumeConfig>} cfg @param {(msg: string) => void} log
 */
async function runStore(store, cfg, log) {
  const t0 = Date.now();
  const db = store === 'postgres' ? await createDatabase() : null;
  /** @type {any} */
  const out = { store };
  /** @type {import('./targets.mjs').Target | undefined} */
  let target;
  const driver = forkDriver('resume-driver.mjs');
  try {
    target = await startTarget('natter', {
      env: db ? { NATTER_STORE: 'postgres', DATABASE_URL: db.url } : {},
    });
    const token = await signToken(target.secret, 'bench-resume');
    const conversations = await makeAccount(target, cfg, token);
    await driver.request({ cmd: 'open', url: target.wsUrl, token }, 30_000);
    const seeded = await driver.request(
      { cmd: 'seed', conversationIds: conversations.map((c) => c.id) },
      120_000,
    );
    out.setupMs = Date.now() - t0;
    out.conversations = conversations.length;
    log(
      `resume ${store}: ${conversations.length} conversations, a message in each, in ${out.setupMs} ms (seeding ${seeded.ms} ms)`,
    );

    const m0 = await scrapeMetrics(target.httpUrl);
    const initial = await driver.request({ cmd: 'initial', times: cfg.initialSyncs }, 300_000);
    const m1 = await scrapeMetrics(target.httpUrl);
    out.initial = {
      times: cfg.initialSyncs,
      pages: initial.pages,
      listed: initial.conversations,
      client: summarize(mergeEncoded([initial.hist])),
      server: serverReadTime(m0, m1),
    };
    if (initial.conversations !== conversations.length)
      throw new Error(
        `the listing named ${initial.conversations} conversations, not ${conversations.length}`,
      );

    // Three conversations (spread over direct and group ones) change after the account's token.
    const step = Math.floor(conversations.length / cfg.changed);
    const writers = await Promise.all(
      Array.from({ length: cfg.changed }, async (_, k) => {
        const c = conversations[k * step + Math.floor(step / 2)];
        return { conversation_id: c.id, token: await signToken(target?.secret ?? '', c.writer) };
      }),
    );
    await driver.request({ cmd: 'change', url: target.wsUrl, writers }, 60_000);

    const m2 = await scrapeMetrics(target.httpUrl);
    const resumed = await driver.request(
      {
        cmd: 'resume',
        url: target.wsUrl,
        token,
        since: initial.token,
        times: cfg.resumes,
        reconnects: 0,
        expect: cfg.changed,
      },
      300_000,
    );
    const m3 = await scrapeMetrics(target.httpUrl);
    const reconnected = await driver.request(
      {
        cmd: 'resume',
        url: target.wsUrl,
        token,
        since: initial.token,
        times: 0,
        reconnects: cfg.reconnects,
        expect: cfg.changed,
      },
      300_000,
    );
    out.resume = {
      times: cfg.resumes,
      changed: cfg.changed,
      wrong: resumed.wrong + reconnected.wrong,
      /** round trips the longest resume took (pages of sync_result) */
      maxPages: resumed.maxPages,
      client: summarize(mergeEncoded([resumed.hist])),
      server: serverReadTime(m2, m3),
      reconnects: cfg.reconnects,
      reconnect: summarize(mergeEncoded([reconnected.reconnectHist])),
    };
    log(
      `resume ${store}: initial sync p50 ${out.initial.client.p50} p99 ${out.initial.client.p99} ms (${out.initial.pages} pages, server mean ${out.initial.server?.meanMs.toFixed(2)} ms/page); ` +
        `resume p50 ${out.resume.client.p50} p99 ${out.resume.client.p99} ms (server mean ${out.resume.server?.meanMs.toFixed(2)} ms), reconnect+resume p50 ${out.resume.reconnect.p50} ms, wrong ${out.resume.wrong}`,
    );
  } finally {
    await driver.close();
    if (target) {
      [out.server] = await stopNodes([target]);
      rmSync(target.dataDir, { recursive: true, force: true });
    }
    if (db)
      await dropDatabase(db.name).catch((err) => log(`resume: dropping ${db.name} failed: ${err.message}`));
  }
  out.elapsedMs = Date.now() - t0;
  return out;
}

/**
 * Both stores, one after the other; a store that fails (PostgreSQL not running) is recorded as such.
 * @param {{ quick: boolean, log: (msg: string) => void }} o
 */
export async function resumeScenario(o) {
  const cfg = resumeConfig(o.quick);
  /** @type {any} */
  const out = { date: new Date().toISOString(), quick: o.quick, config: cfg, runs: [] };
  for (const store of cfg.stores) {
    try {
      out.runs.push(await runStore(store, cfg, o.log));
    } catch (err) {
      o.log(`resume ${store} failed: ${/** @type {Error} */ (err).message}`);
      out.runs.push({ store, error: String(/** @type {Error} */ (err).message ?? err) });
    }
  }
  return out;
}
