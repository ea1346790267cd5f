import type { SearchTerm } from '../store/message-search.js';
import { foldWord, wordsOf } from './search-query.js';

/** Longest snippet, in UTF-16 code units, before the ellipses. */
export const SNIPPET_CHARS = 160;
/** How much text a snippet shows before its first match, when it has to cut. */
const LEAD_CHARS = 50;
const ELLIPSIS = '…';

export interface Snippet {
  text: string;
  /** [start, end) offsets in `text` (UTF-16 code units) of the words that match, ascending. */
  highlights: Array<[number, number]>;
}

/**
 * The part of `body` to show for a search hit: all of it when short, else a window starting a
 * little before the first matching word, cut at word boundaries and marked with `…`. Highlights
 * are plain offsets, never markup, so a client renders them as text. A word matches a term when,
 * folded, it equals it (or starts with it, for a prefix term); a store that stems words (a
 * PostgreSQL language) can find a message whose words match only by stem: it shows unhighlighted.
 */
export function snippetOf(body: string, terms: SearchTerm[]): Snippet {
  const folded = terms.map((t) => ({ word: foldWord(t.word), prefix: t.prefix }));
  const matches: Array<[number, number]> = [];
  for (const { word, start, end } of wordsOf(body)) {
    const w = foldWord(word);
    if (folded.some((t) => (t.prefix ? w.startsWith(t.word) : w === t.word))) matches.push([start, end]);
  }
  if (body.length <= SNIPPET_CHARS) return { text: body, highlights: matches };

  const first = matches[0]?.[0] ?? 0;
  let start = first <= LEAD_CHARS ? 0 : wordStartAfter(body, first - LEAD_CHARS, first);
  let end = Math.min(body.length, start + SNIPPET_CHARS);
  if (end < body.length) end = wordEndBefore(body, start, end);
  start = notInsidePair(body, start);
  end = notInsidePair(body, end);
  const lead = start > 0 ? ELLIPSIS : '';
  const text = `${lead}${body.slice(start, end).trim()}${end < body.length ? ELLIPSIS : ''}`;
  const shift =
    lead.length - start - (body.slice(start, end).length - body.slice(start, end).trimStart().length);
  const highlights = matches
    .filter(([s, e]) => s >= start && e <= end)
    .map(([s, e]): [number, number] => [s + shift, e + shift]);
  return { text, highlights };
}

/** The first whitespace-separated word start in [from, limit], else `from`. */
function wordStartAfter(text: string, from: number, limit: number): number {
  const space = text.slice(from, limit).search(/\s/u);
  return space === -1 ? from : from + space + 1;
}

/** The last whitespace before `end` (after `start`), else `end`. */
function wordEndBefore(text: string, start: number, end: number): number {
  const cut = text.slice(start, end).search(/\s\S*$/u);
  return cut > 0 ? start + cut : end;
}

/** Moves an offset off the middle of a surrogate pair. */
function notInsidePair(text: string, at: number): number {
  const code = text.charCodeAt(at);
  return at > 0 && at < text.length && code >= 0xdc00 && code <= 0xdfff ? at - 1 : at;
}
