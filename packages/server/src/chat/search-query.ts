import { MAX_SEARCH_TERMS, NatterError } from '@natter/protocol';
import type { SearchTerm } from '../store/message-search.js';

/** A word is a run of letters, marks and digits; a `*` right after it makes it a prefix. */
const WORD = /([\p{L}\p{M}\p{N}]+)(\*?)/gu;

/**
 * The words of a query, lower-cased and without repeats. Everything else (quotes, parentheses,
 * operators of FTS5 or tsquery syntax) only separates words, so no query can be read as syntax.
 * A query with no word at all has no terms (it matches nothing); more than MAX_SEARCH_TERMS words
 * is `bad_request`.
 */
export function searchTermsOf(query: string): SearchTerm[] {
  const terms = new Map<string, SearchTerm>();
  for (const [, word = '', star] of query.normalize('NFC').matchAll(WORD)) {
    const lower = word.toLowerCase();
    const prefix = star === '*' || terms.get(lower)?.prefix === true;
    terms.set(lower, { word: lower, prefix });
  }
  if (terms.size > MAX_SEARCH_TERMS) {
    throw new NatterError('bad_request', `query: at most ${MAX_SEARCH_TERMS} words`);
  }
  return [...terms.values()];
}

/** How a word compares with a term: lower case, accents removed (as FTS5's remove_diacritics does). */
export function foldWord(word: string): string {
  return word.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** The words of a text with their [start, end) offsets in UTF-16 code units. */
export function* wordsOf(text: string): Generator<{ word: string; start: number; end: number }> {
  for (const match of text.matchAll(/[\p{L}\p{M}\p{N}]+/gu)) {
    yield { word: match[0], start: match.index, end: match.index + match[0].length };
  }
}
