import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { FileBlobStore } from '../../src/attachments/file-blob-store.js';
import { blobStoreConformance } from './blob-store.conformance.js';

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

blobStoreConformance('files in a directory', async () => {
  const root = await mkdtemp(join(tmpdir(), 'natter-blobs-'));
  roots.push(root);
  return new FileBlobStore(join(root, 'media'));
});
