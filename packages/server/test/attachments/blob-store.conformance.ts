import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BlobStore } from '../../src/attachments/blob-store.js';

/** The BlobStore contract (src/attachments/blob-store.ts), run against every adapter. */
export function blobStoreConformance(name: string, open: () => Promise<BlobStore>): void {
  describe(`BlobStore: ${name}`, () => {
    it('reads back what it stored, replaces on a second put, and answers null for a missing key', async () => {
      const store = await open();
      const key = `blob/${randomUUID()}`;
      expect(await store.get(key)).toBeNull();
      await store.put(key, Buffer.from('first'), 'text/plain');
      expect(Buffer.from((await store.get(key))!).toString()).toBe('first');
      const binary = Uint8Array.from({ length: 300 }, (_, i) => i % 256);
      await store.put(key, binary, 'application/octet-stream');
      expect(Buffer.from((await store.get(key))!).equals(Buffer.from(binary))).toBe(true);
    });

    it('deletes idempotently', async () => {
      const store = await open();
      const key = `meta/${randomUUID()}.json`;
      await store.put(key, Buffer.from('{}'), 'application/json');
      await store.delete(key);
      await store.delete(key);
      expect(await store.get(key)).toBeNull();
    });

    it('lists the keys under a prefix, and only those', async () => {
      const store = await open();
      const run = randomUUID();
      const keys = [`list-${run}/a`, `list-${run}/b.json`, `list-${run}/deep/c`];
      for (const key of keys) await store.put(key, Buffer.from(key), 'text/plain');
      await store.put(`other-${run}/x`, Buffer.from('x'), 'text/plain');
      expect((await store.list(`list-${run}/`)).sort()).toEqual(keys.sort());
      await store.delete(keys[0]!);
      expect((await store.list(`list-${run}/`)).sort()).toEqual(keys.slice(1).sort());
      expect(await store.list(`none-${run}/`)).toEqual([]);
    });
  });
}
