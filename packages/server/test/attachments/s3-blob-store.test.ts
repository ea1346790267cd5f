import { afterAll, beforeAll } from 'vitest';
import { S3BlobStore } from '../../src/attachments/s3-blob-store.js';
import { s3Settings, startS3rver } from '../helpers/s3rver.js';
import { blobStoreConformance } from './blob-store.conformance.js';

let s3: Awaited<ReturnType<typeof startS3rver>>;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3?.close();
});

blobStoreConformance('S3 (s3rver, path-style)', async () => {
  const settings = s3Settings(s3.endpoint);
  return new S3BlobStore({
    endpoint: settings.s3Endpoint,
    bucket: settings.s3Bucket,
    region: 'us-east-1',
    accessKeyId: settings.s3AccessKeyId,
    secretAccessKey: settings.s3SecretAccessKey,
    prefix: settings.s3Prefix,
    forcePathStyle: true,
  });
});
