import { readFileSync } from 'node:fs';
import { ERROR_CODES, ERRORS, type ErrorCode } from '@natter/protocol';
import { describe, expect, it } from 'vitest';

/** The rows of docs/protocol.md §8: code, HTTP status, retryable, close. */
function documentedErrors(): Map<string, { status: number; retryable: boolean; close: string }> {
  const doc = readFileSync(new URL('../../../../docs/protocol.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('\n## 8. Errors'), doc.indexOf('\n## 9.'));
  const rows = new Map<string, { status: number; retryable: boolean; close: string }>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const code = /^`([a-z_]+)`$/.exec(cells[1] ?? '')?.[1];
    if (code === undefined) continue;
    rows.set(code, { status: Number(cells[2]), retryable: cells[3] === 'yes', close: cells[4] ?? '' });
  }
  return rows;
}

describe('docs/protocol.md §8', () => {
  it('lists exactly the error catalogue, with its HTTP status, retryable flag and close code', () => {
    const rows = documentedErrors();
    expect([...rows.keys()].sort()).toEqual([...ERROR_CODES].sort());
    for (const [code, row] of rows) {
      const spec: { status: number; retryable: boolean; close?: number } = ERRORS[code as ErrorCode];
      expect(row.status, `${code}: HTTP status`).toBe(spec.status);
      expect(row.retryable, `${code}: retryable`).toBe(spec.retryable);
      const firstClose = /\d{4}/.exec(row.close)?.[0];
      if (spec.close !== undefined) expect(firstClose, `${code}: close code`).toBe(String(spec.close));
      // Without its own close code an error that ends a connection closes with 1011 (closeWith).
      else expect(['—', '1011'], `${code}: close code`).toContain(firstClose ?? row.close);
    }
  });
});
