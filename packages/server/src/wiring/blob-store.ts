import { join } from 'node:path';
import type { BlobStore } from '../attachments/blob-store.js';
import { FileBlobStore } from '../attachments/file-blob-store.js';
import type { Config } from '../config.js';

/** The BlobStore the config names: files under the data directory (`media/`). */
export function openBlobStore(config: Config): BlobStore {
  return new FileBlobStore(join(config.dataDir, 'media'));
}
