import { describe, expect, it } from 'vitest';
import { snippetParts } from '../src/search-highlight.js';

describe('snippetParts', () => {
  it('cuts a snippet into plain and matched runs by the highlight offsets', () => {
    expect(
      snippetParts('…the zebra and the Zebras', [
        [5, 10],
        [19, 25],
      ]),
    ).toEqual([
      { text: '…the ', matched: false },
      { text: 'zebra', matched: true },
      { text: ' and the ', matched: false },
      { text: 'Zebras', matched: true },
    ]);
  });

  it('never trusts the ranges: overlapping, backwards or out of bounds ones are clamped or skipped', () => {
    expect(
      snippetParts('abcdef', [
        [2, 4],
        [3, 5],
        [5, 2],
        [4, 99],
      ]),
    ).toEqual([
      { text: 'ab', matched: false },
      { text: 'cd', matched: true },
      { text: 'e', matched: true },
      { text: 'f', matched: true },
    ]);
    expect(snippetParts('<b>x</b>', [])).toEqual([{ text: '<b>x</b>', matched: false }]);
  });
});
