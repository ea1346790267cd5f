// Summarises a V8 .cpuprofile (from node --cpu-prof): self time per function (functionName + url) and per
// code origin (Natter source, a node_modules package, Node internals, GC/idle/program).
// CLI: node bench/profile-summary.mjs <file.cpuprofile> [top=15]
import { readFileSync } from 'node:fs';
import { ROOT } from './targets.mjs';

/**
 * @typedef {{ name: string, where: string, selfMs: number, pct: number }} FunctionRow
 * @typedef {{ origin: string, selfMs: number, pct: number }} OriginRow
 * @typedef {{ totalMs: number, busyMs: number, idleMs: number, top: FunctionRow[], origins: OriginRow[] }} ProfileSummary
 * Percentages are of busy time (everything but "(idle)": the event loop waiting for I/O).
 */

/** @param {string} url */
function shortUrl(url) {
  if (!url) return '';
  return url.replace(/^file:\/\//, '').replace(`${ROOT}/`, '');
}

/** @param {string} url @param {string} name */
function originOf(url, name) {
  if (!url)
    return ['(garbage collector)', '(program)', '(root)'].includes(name) ? name : '(native / V8 builtins)';
  const u = shortUrl(url);
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  if (pkg) return `npm: ${pkg[1]}`;
  if (u.startsWith('node:')) return 'node internals';
  if (u.startsWith('packages/server/')) return 'natter server';
  if (u.startsWith('packages/protocol/')) return 'natter protocol';
  return u;
}

/**
 * @param {string} file path of a .cpuprofile
 * @param {number} [top]
 * @param {{fromUs: number, toUs: number}} [window] only samples in this CLOCK_MONOTONIC window (µs), which is
 *   the clock of the profile's timestamps and of process.hrtime(); ignored if it does not overlap the profile.
 * @returns {ProfileSummary & { windowed: boolean }}
 */
export function summarizeProfile(file, top = 15, window) {
  /** @type {{nodes: {id: number, callFrame: {functionName: string, url: string, lineNumber: number}}[], samples: number[], timeDeltas: number[], startTime: number, endTime: number}} */
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const windowed = !!window && window.fromUs < profile.endTime && window.toUs > profile.startTime;
  /** @type {Map<number, number>} */
  const selfUs = new Map();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = Math.max(0, profile.timeDeltas[i] ?? 0);
    t += delta;
    if (windowed && window && (t < window.fromUs || t > window.toUs)) continue;
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  /** @type {Map<string, FunctionRow>} */
  const byFunction = new Map();
  /** @type {Map<string, number>} */
  const byOrigin = new Map();
  let totalUs = 0;
  let idleUs = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0) continue;
    totalUs += us;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    if (name === '(idle)') {
      idleUs += us;
      continue;
    }
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const key = `${name}\u0000${url}`;
    const row = byFunction.get(key) ?? { name, where, selfMs: 0, pct: 0 };
    row.selfMs += us / 1000;
    byFunction.set(key, row);
    const origin = originOf(url, name);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + us / 1000);
  }
  const totalMs = totalUs / 1000;
  const busyMs = (totalUs - idleUs) / 1000;
  const pct = (/** @type {number} */ ms) => (busyMs > 0 ? (100 * ms) / busyMs : 0);
  return {
    windowed,
    totalMs,
    busyMs,
    idleMs: idleUs / 1000,
    top: [...byFunction.values()]
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top)
      .map((r) => ({ ...r, pct: pct(r.selfMs) })),
    origins: [...byOrigin.entries()]
      .map(([origin, selfMs]) => ({ origin, selfMs, pct: pct(selfMs) }))
      .sort((a, b) => b.selfMs - a.selfMs),
  };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node bench/profile-summary.mjs <file.cpuprofile> [top]');
    process.exit(2);
  }
  const s = summarizeProfile(file, Number(top ?? 15));
  console.log(
    `sampled ${s.totalMs.toFixed(0)} ms, busy ${s.busyMs.toFixed(0)} ms (percentages are of busy time)`,
  );
  for (const r of s.top)
    console.log(
      `${r.pct.toFixed(1).padStart(5)}%  ${r.selfMs.toFixed(0).padStart(7)} ms  ${r.name}  ${r.where}`,
    );
  console.log('\nby origin:');
  for (const r of s.origins)
    console.log(`${r.pct.toFixed(1).padStart(5)}%  ${r.selfMs.toFixed(0).padStart(7)} ms  ${r.origin}`);
}
