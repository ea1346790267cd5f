import { describe, expect, it } from 'vitest';
import { searchTermsOf } from '../../src/chat/search-query.js';
import { SNIPPET_CHARS, snippetOf } from '../../src/chat/search-snippet.js';

const marked = (s: { text: string; highlights: Array<[number, number]> }) =>
  s.highlights.map(([a, b]) => s.text.slice(a, b));

describe('searchTermsOf', () => {
  it('keeps words (letters, marks, digits) lower-cased and once; a trailing * makes a prefix', () => {
    expect(searchTermsOf('Deploy deploy FRI* "x" NEAR( :*&|!')).toEqual([
      { word: 'deploy', prefix: false },
      { word: 'fri', prefix: true },
      { word: 'x', prefix: false },
      { word: 'near', prefix: false },
    ]);
    expect(searchTermsOf(':*&|! "')).toEqual([]);
  });

  it('refuses more than 16 words', () => {
    expect(() => searchTermsOf(Array.from({ length: 17 }, (_, i) => `w${i}`).join(' '))).toThrow(/16 words/);
  });
});

describe('snippetOf', () => {
  it('marks whole words that match, ignoring case and accents, and prefixes', () => {
    const s = snippetOf('Café at noon? CAFE! cafeteria', searchTermsOf('cafe'));
    expect(marked(s)).toEqual(['Café', 'CAFE']);
    expect(marked(snippetOf('cafeteria tomorrow', searchTermsOf('cafe*')))).toEqual(['cafeteria']);
  });

  it('cuts a long text around the first match, at word boundaries, with ellipses', () => {
    const body = `${'lorem ipsum '.repeat(30)}the needle is here ${'dolor sit '.repeat(30)}`;
    const s = snippetOf(body, searchTermsOf('needle'));
    expect(s.text.startsWith('…')).toBe(true);
    expect(s.text.endsWith('…')).toBe(true);
    expect(s.text.length).toBeLessThanOrEqual(SNIPPET_CHARS + 2);
    expect(marked(s)).toEqual(['needle']);
    expect(body).toContain(s.text.slice(1, -1));
    expect(s.text.slice(1).split(' ')[0]).toMatch(/^(lorem|ipsum)$/); // cut at a word boundary
  });

  it('counts offsets in UTF-16 code units, never splitting a surrogate pair', () => {
    const s = snippetOf('🎉🎉 party time', searchTermsOf('party'));
    expect(s.highlights).toEqual([[5, 10]]);
    const long = snippetOf(`${'😀'.repeat(120)} word`, searchTermsOf('word'));
    for (const [a, b] of long.highlights) expect(long.text.slice(a, b)).toBe('word');
    expect(long.text).not.toMatch(/^[\uDC00-\uDFFF]/u);
  });
});
