import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { SqliteWriterClient } from '../../src/store/sqlite/sqlite-writer-client.js';

const dirs: string[] = [];

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('SqliteWriterClient', () => {
  it('reports a writer thread that cannot start, refuses writes meanwhile, and recovers by itself', async () => {
    const root = await mkdtemp(join(tmpdir(), 'natter-writer-'));
    dirs.push(root);
    const dataDir = join(root, 'data');
    await writeFile(dataDir, 'not a directory');
    const client = new SqliteWriterClient({ dataDir, checkpointPages: 1000 }, createLogger('silent'));
    try {
      await new Promise((r) => setTimeout(r, 200));
      expect(client.healthy).toBe(false);
      await expect(client.commit([{ kind: 'create_direct', userId: 'a', peerId: 'b' }])).rejects.toThrow();

      await rm(dataDir);
      await mkdir(dataDir);
      await client.whenReady();
      expect(client.healthy).toBe(true);
      const [result] = await client.commit([{ kind: 'create_direct', userId: 'a', peerId: 'b' }]);
      expect(result).toMatchObject({ ok: true, value: { duplicate: false } });
    } finally {
      await client.close();
    }
  });
});
