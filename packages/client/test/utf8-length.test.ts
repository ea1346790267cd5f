import { DEFAULT_MAX_BODY_BYTES, utf8Length } from '@natter/protocol/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config.js';

/** A composer counts a body's size the way the server measures it against max_body_bytes. */
describe('utf8Length', () => {
  it('counts UTF-8 bytes: ASCII 1, é 2, € 3, an emoji 4, a lone surrogate 3 (as U+FFFD)', () => {
    expect(utf8Length('')).toBe(0);
    expect(utf8Length('hi')).toBe(2);
    expect(utf8Length('é')).toBe(2);
    expect(utf8Length('€')).toBe(3);
    expect(utf8Length('😀')).toBe(4);
    expect(utf8Length('👍🏽')).toBe(8);
    expect(utf8Length('\ud83d')).toBe(3);
    expect(utf8Length('\ude00x')).toBe(4);
  });

  it('agrees with the UTF-8 encoding of any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(utf8Length(text)).toBe(Buffer.byteLength(text, 'utf8'));
      }),
      { numRuns: 2000 },
    );
  });

  it("is measured against the server's default limit", () => {
    expect(loadConfig({}, []).maxBodyBytes).toBe(DEFAULT_MAX_BODY_BYTES);
  });
});
