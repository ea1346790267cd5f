// The synthetic corpus of the search benchmark: a vocabulary of pronounceable words drawn with a
// Zipf distribution (as word frequencies in chat are), conversations of 5 members, and the rows
// of each store's own schema, so the stores are filled by bulk inserts instead of 1M sends.

/** Deterministic PRNG (mulberry32), so both stores get the same corpus. @param {number} seed */
export function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ONSETS = ['b', 'd', 'f', 'g', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'z', 'br', 'st', 'tr', 'pl'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ou'];

/** `size` distinct words of 2-4 syllables; word i is the i-th most frequent. @param {number} size */
export function vocabulary(size) {
  const next = random(7);
  const words = new Set();
  while (words.size < size) {
    const syllables = 2 + Math.floor(next() * 3);
    let w = '';
    for (let s = 0; s < syllables; s++) {
      w += ONSETS[Math.floor(next() * ONSETS.length)] + VOWELS[Math.floor(next() * VOWELS.length)];
    }
    words.add(w);
  }
  return [...words];
}

/** Samples ranks 0..n-1 with P(rank k) ∝ 1/(k+1)^s, by binary search over the CDF. */
export function zipf(n, s, next) {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    sum += 1 / (k + 1) ** s;
    cdf[k] = sum;
  }
  return () => {
    const x = next() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/**
 * @typedef {{ conversations: number, messagesPerConversation: number, users: number, searchers: number,
 *   conversationsPerSearcher: number, vocabulary: number }} CorpusShape
 */

/**
 * Who is in which conversation: 5 members each from `users` users; searcher i (bench-s<i>) is also
 * in `conversationsPerSearcher` of them. @param {CorpusShape} shape
 */
export function memberships(shape) {
  const next = random(11);
  /** @type {string[][]} */
  const members = [];
  for (let c = 0; c < shape.conversations; c++) {
    const set = new Set();
    while (set.size < 5) set.add(`bench-u${Math.floor(next() * shape.users)}`);
    members.push([...set]);
  }
  for (let s = 0; s < shape.searchers; s++) {
    const chosen = new Set();
    while (chosen.size < shape.conversationsPerSearcher) chosen.add(Math.floor(next() * shape.conversations));
    for (const c of chosen) members[c]?.push(`bench-s${s}`);
  }
  return members;
}

/**
 * Yields the messages of the corpus in batches, in log order (round-robin over conversations, as
 * traffic interleaves): { conversation index, seq, pos, sender, body, created_at }.
 * @param {CorpusShape} shape @param {string[]} words @param {string[][]} members @param {number} batch
 */
export function* messageBatches(shape, words, members, batch) {
  const next = random(13);
  const pick = zipf(words.length, 1.07, next);
  const start = Date.UTC(2026, 0, 1);
  let pos = shape.conversations; // positions 1..conversations went to the `created` events
  /** @type {Array<{c: number, seq: number, pos: number, sender: string, body: string, at: number}>} */
  let out = [];
  for (let m = 0; m < shape.messagesPerConversation; m++) {
    for (let c = 0; c < shape.conversations; c++) {
      const length = 4 + Math.floor(next() * 14);
      const body = Array.from({ length }, () => words[pick()]).join(' ');
      const who = members[c] ?? [];
      pos += 1;
      out.push({
        c,
        seq: m + 2,
        pos,
        sender: who[Math.floor(next() * who.length)] ?? 'bench-u0',
        body,
        at: start + pos * 1000,
      });
      if (out.length === batch) {
        yield out;
        out = [];
      }
    }
  }
  if (out.length > 0) yield out;
}

export const conversationId = (/** @type {number} */ c) => `c_bench${String(c).padStart(6, '0')}`;
