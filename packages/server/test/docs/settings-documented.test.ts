import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeSettings } from '../../src/config.js';

describe('docs/operations.md', () => {
  it('documents every setting with its flag and default', () => {
    const doc = readFileSync(new URL('../../../../docs/operations.md', import.meta.url), 'utf8');
    for (const s of describeSettings()) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${s.env}\` |`));
      expect(row, `${s.env} is missing: run npm run build && npm run docs:settings`).toBeDefined();
      expect(row).toContain(`\`${s.flag}\``);
      if (s.default !== undefined) expect(row).toContain(`\`${JSON.stringify(s.default)}\``);
    }
  });
});
