// The open-loop core both load drivers share: sends are scheduled at start + i / rate and made on
// every tick once their time has come, however late the driver is, so a stalled server shows up as
// latency from the scheduled time instead of as a slower offered rate (no coordinated omission).
import { performance } from 'node:perf_hooks';

/** @param {number} ms */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** @param {number} perfTime */
export const sleepUntil = (perfTime) => sleep(Math.max(0, perfTime - performance.now()));

/**
 * Runs one step's sends, from now (the step's start). `send(i)` makes send i and `run.sent` counts
 * the sends made (the run state reads it meanwhile); `behind()` says the step fell too far behind
 * (it is then given up). CPU is measured from the start of the recorded window to the last send.
 * @param {{ run: { sent: number, windowStart: number, total: number, intervalMs: number },
 *   startPerf: number, send: (i: number) => void, behind: () => boolean }} o
 * @returns {Promise<{ sendEnd: number, driverCpu: number, aborted: boolean }>}
 */
export async function sendOpenLoop(o) {
  const { run } = o;
  let aborted = false;
  let cpu0 = process.cpuUsage();
  let wall0 = performance.now();
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (now >= run.windowStart && wall0 < run.windowStart) {
        cpu0 = process.cpuUsage();
        wall0 = now;
      }
      const due = Math.min(run.total, Math.floor((now - o.startPerf) / run.intervalMs) + 1);
      for (let i = run.sent; i < due; i++) o.send(i);
      run.sent = Math.max(run.sent, due);
      if (o.behind()) aborted = true;
      if (run.sent >= run.total || aborted) resolve(undefined);
      else setTimeout(tick, 1);
    };
    tick();
  });
  const sendEnd = performance.now();
  const cpu = process.cpuUsage(cpu0);
  return { sendEnd, driverCpu: (cpu.user + cpu.system) / 1000 / Math.max(1, sendEnd - wall0), aborted };
}

/**
 * The error counts that grew since `before`, by code.
 * @param {Record<string, number>} now @param {Record<string, number>} before
 */
export function errorsSince(now, before) {
  /** @type {Record<string, number>} */
  const errors = {};
  for (const [code, n] of Object.entries(now))
    if (n - (before[code] ?? 0) > 0) errors[code] = n - (before[code] ?? 0);
  return errors;
}
