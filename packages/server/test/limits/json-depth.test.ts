import { describe, expect, it } from 'vitest';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../src/limits/json-depth.js';

const arrays = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
const objects = (levels: number) => '{"k":'.repeat(levels) + '0' + '}'.repeat(levels);

describe('exceedsJsonDepth', () => {
  it('accepts nesting up to the maximum and rejects one level more, for arrays, objects and mixes', () => {
    for (const nest of [arrays, objects]) {
      expect(exceedsJsonDepth(nest(MAX_JSON_DEPTH))).toBe(false);
      expect(exceedsJsonDepth(nest(MAX_JSON_DEPTH + 1))).toBe(true);
    }
    const mixed = '[{"a":'.repeat(MAX_JSON_DEPTH / 2) + '1' + '}]'.repeat(MAX_JSON_DEPTH / 2);
    expect(exceedsJsonDepth(mixed)).toBe(false);
    expect(exceedsJsonDepth(`[${mixed}]`)).toBe(true);
  });

  it('counts depth, not the number of brackets: siblings do not add up', () => {
    const sibling = `[${arrays(MAX_JSON_DEPTH - 1)}]`;
    expect(exceedsJsonDepth(`[${Array(1000).fill(sibling).join(',')}]`)).toBe(true);
    expect(exceedsJsonDepth(`{"a":${Array(1000).fill(arrays(MAX_JSON_DEPTH)).join(',')}}`)).toBe(true);
    expect(
      exceedsJsonDepth(
        `[${Array(1000)
          .fill(arrays(MAX_JSON_DEPTH - 1))
          .join(',')}]`,
      ),
    ).toBe(false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(exceedsJsonDepth(JSON.stringify({ body: arrays(10_000) }))).toBe(false);
    expect(exceedsJsonDepth(JSON.stringify({ body: `\\"${'['.repeat(100)}` }))).toBe(false);
    expect(exceedsJsonDepth(`["\\\\",${arrays(MAX_JSON_DEPTH)}]`)).toBe(true);
  });

  it('scans 100,000 levels without recursion', () => {
    expect(exceedsJsonDepth(arrays(100_000))).toBe(true);
    expect(exceedsJsonDepth(objects(100_000))).toBe(true);
  });
  it('does not let unbalanced closers buy extra depth', () => {
    expect(exceedsJsonDepth(`${']'.repeat(10)}${'['.repeat(MAX_JSON_DEPTH + 1)}`)).toBe(true);
  });
});
