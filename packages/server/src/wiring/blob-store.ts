import { join } from 'node:path';
import type { BlobStore, DirectTransfer } from '../attachments/blob-store.js';
import { FileBlobStore } from '../attachments/file-blob-store.js';
import { S3BlobStore } from '../attachments/s3-blob-store.js';
import type { Config } from '../config.js';

/**
 * The BlobStore the config names: files under the data directory (`media/`), or an S3 bucket,
 * which clients also reach directly at presigned URLs unless NATTER_S3_DIRECT_TRANSFER is off.
 */
export function openBlobStore(config: Config): { blobs: BlobStore; direct?: DirectTransfer } {
  if (config.attachmentStore === 'files') return { blobs: new FileBlobStore(join(config.dataDir, 'media')) };
  if (!config.s3Bucket || !config.s3AccessKeyId || !config.s3SecretAccessKey)
    throw new Error(
      'NATTER_ATTACHMENT_STORE=s3 needs NATTER_S3_BUCKET, NATTER_S3_ACCESS_KEY_ID and NATTER_S3_SECRET_ACCESS_KEY.',
    );
  const s3 = new S3BlobStore({
    endpoint: config.s3Endpoint,
    bucket: config.s3Bucket,
    region: config.s3Region,
    accessKeyId: config.s3AccessKeyId,
    secretAccessKey: config.s3SecretAccessKey,
    prefix: config.s3Prefix,
    forcePathStyle: config.s3ForcePathStyle,
  });
  return config.s3DirectTransfer ? { blobs: s3, direct: s3 } : { blobs: s3 };
}
