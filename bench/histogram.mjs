// HdrHistogram helpers shared by the drivers (record, encode) and run.mjs (merge, summarise).
// Values are recorded in microseconds; summaries are reported in milliseconds.
import * as hdr from 'hdr-histogram-js';

/** @type {import('hdr-histogram-js').BuildRequest} */
const OPTIONS = {
  bitBucketSize: /** @type {const} */ (64),
  highestTrackableValue: 3_600_000_000,
  numberOfSignificantValueDigits: 3,
};

/** @returns {import('hdr-histogram-js').Histogram} an empty latency histogram (µs, 3 significant digits, up to 1 h). */
export function newHistogram() {
  return hdr.build(OPTIONS);
}

/** @param {import('hdr-histogram-js').Histogram} h */
export function encode(h) {
  return hdr.encodeIntoCompressedBase64(h);
}

/**
 * Merges encoded histograms (one per driver process) into one.
 * @param {string[]} encoded
 */
export function mergeEncoded(encoded) {
  const out = newHistogram();
  for (const e of encoded) out.add(hdr.decodeFromCompressedBase64(e));
  return out;
}

/**
 * @typedef {{count: number, p50: number, p90: number, p99: number, p999: number, max: number, mean: number}} LatencySummary
 * All latencies in milliseconds.
 */

/**
 * @param {import('hdr-histogram-js').Histogram} h
 * @returns {LatencySummary}
 */
export function summarize(h) {
  const ms = (/** @type {number} */ us) => Math.round(us) / 1000;
  if (h.totalCount === 0) return { count: 0, p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN, mean: NaN };
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}
