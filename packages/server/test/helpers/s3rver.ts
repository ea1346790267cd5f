import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

export const S3_BUCKET = 'natter-media';

/** CORS rules a bucket needs for browsers to PUT and GET at presigned URLs (docs/operations.md). */
const BROWSER_CORS = `<CORSConfiguration><CORSRule>
  <AllowedOrigin>*</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod>
  <AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3600</MaxAgeSeconds>
</CORSRule></CORSConfiguration>`;

/**
 * A real S3-compatible server (s3rver) on an ephemeral 127.0.0.1 port, with one bucket and its own
 * directory; `cors` gives the bucket the rules browsers need.
 */
export async function startS3rver(
  options: { cors?: boolean } = {},
): Promise<{ endpoint: string; close(): Promise<void> }> {
  const directory = await mkdtemp(join(tmpdir(), 'natter-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: S3_BUCKET, configs: options.cors ? [BROWSER_CORS] : [] }],
  });
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    async close() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** The config of a server whose attachments go to that s3rver (s3rver takes any key pair). */
export function s3Settings(endpoint: string) {
  return {
    attachmentStore: 's3' as const,
    s3Endpoint: endpoint,
    s3Bucket: S3_BUCKET,
    s3AccessKeyId: 'S3RVER',
    s3SecretAccessKey: 'S3RVER',
    s3Prefix: 'media/',
    s3ForcePathStyle: true,
  };
}
