import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { BlobStore, DirectTransfer } from './blob-store.js';

export interface S3Options {
  /** The S3-compatible endpoint (https://s3.eu-west-1.amazonaws.com, http://minio:9000); empty: AWS's own. */
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Key prefix inside the bucket, so several deployments can share one. */
  prefix: string;
  /** Bucket in the path (MinIO, Ceph, R2 and most self-hosted stores) instead of the host name. */
  forcePathStyle: boolean;
}

/**
 * The production BlobStore: objects in any S3-compatible bucket, through the AWS SDK. It also
 * presigns URLs (SigV4 query signatures) for clients to PUT and GET objects directly.
 */
export class S3BlobStore implements BlobStore, DirectTransfer {
  private readonly client: S3Client;

  constructor(private readonly options: S3Options) {
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
    });
  }

  get origin(): string {
    const { endpoint, bucket, region, forcePathStyle } = this.options;
    const base = new URL(endpoint || `https://s3.${region}.amazonaws.com`);
    return forcePathStyle ? base.origin : `${base.protocol}//${bucket}.${base.host}`;
  }

  uploadUrl(key: string, size: number, ttlMs: number): Promise<string> {
    const command = new PutObjectCommand({
      Bucket: this.options.bucket,
      Key: this.options.prefix + key,
      ContentLength: size,
    });
    return getSignedUrl(this.client, command, { expiresIn: seconds(ttlMs) });
  }

  downloadUrl(key: string, type: string, disposition: string, ttlMs: number): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.options.bucket,
      Key: this.options.prefix + key,
      ResponseContentType: type,
      ResponseContentDisposition: disposition,
      ResponseCacheControl: 'private, max-age=300',
    });
    return getSignedUrl(this.client, command, { expiresIn: seconds(ttlMs) });
  }

  async size(key: string): Promise<number | null> {
    try {
      const answer = await this.client.send(
        new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.options.prefix + key }),
      );
      return answer.ContentLength ?? 0;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async head(key: string, length: number): Promise<Uint8Array | null> {
    try {
      const answer = await this.client.send(
        new GetObjectCommand({
          Bucket: this.options.bucket,
          Key: this.options.prefix + key,
          Range: `bytes=0-${length - 1}`,
        }),
      );
      return answer.Body ? await answer.Body.transformToByteArray() : new Uint8Array();
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async put(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.options.bucket,
        Key: this.options.prefix + key,
        Body: bytes,
        ContentType: contentType,
      }),
    );
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      const answer = await this.client.send(
        new GetObjectCommand({ Bucket: this.options.bucket, Key: this.options.prefix + key }),
      );
      return answer.Body ? await answer.Body.transformToByteArray() : new Uint8Array();
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.options.prefix + key }),
    );
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.options.bucket,
          Prefix: this.options.prefix + prefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const object of page.Contents ?? [])
        if (object.Key) keys.push(object.Key.slice(this.options.prefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }
}

function isMissing(error: unknown): boolean {
  const name = (error as { name?: string }).name;
  return (
    error instanceof NoSuchKey || error instanceof NotFound || name === 'NoSuchKey' || name === 'NotFound'
  );
}

/** Presigned URLs count whole seconds, at least one. */
function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
