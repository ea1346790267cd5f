import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  type AttachmentRef,
  type ChatEvent,
  type CreateUploadRequest,
  type DownloadTicket,
  NatterError,
  type UploadTicket,
} from '@natter/protocol';
import { fileTypeFromBuffer } from 'file-type';
import type { Clock } from '../clock.js';
import type { BlobStore, DirectTransfer } from './blob-store.js';
import { imageSize } from './image-size.js';
import { thumbHashOf } from './thumbnail.js';

export interface AttachmentLimits {
  attachmentMaxBytes: number;
  attachmentQuotaBytes: number;
  attachmentTypes: string[];
  attachmentUrlTtlMs: number;
  attachmentGraceMs: number;
}

/** What the store keeps beside each file's bytes (`meta/<id>.json`). */
interface AttachmentRecord {
  id: string;
  owner: string;
  name: string;
  declaredSize: number;
  createdAt: number;
  /** Set once the bytes arrived and passed the checks. */
  stored?: AttachmentRef;
  /** Set when a message first referenced it. */
  message?: { conversationId: string; seq: number };
  /** Set when that message was deleted: the bytes go after the grace period. */
  deletedAt?: number;
}

/** Finds a message the user can see now (null otherwise), so that a download follows visibility. */
export type VisibleMessage = (
  userId: string,
  conversationId: string,
  seq: number,
) => Promise<ChatEvent | null>;

/**
 * Attachments: an upload is asked for (name, size; the type claimed is ignored), its bytes arrive
 * once at a signed URL and are sniffed, measured and checked against the limits, a message then
 * references it, and downloads are granted per request, to a member who can see that message, as
 * short-lived signed URLs. Unreferenced uploads and the media of deleted messages are collected
 * after the grace period.
 */
export class AttachmentService {
  private readonly signingKey: Buffer;

  constructor(
    private readonly blobs: BlobStore,
    private readonly limits: AttachmentLimits,
    private readonly clock: Clock,
    signingKey: string | undefined,
    /** When clients PUT and GET the bytes at the store itself (S3 with direct transfer on). */
    private readonly direct?: DirectTransfer,
  ) {
    // Without a configured key the URLs only verify on the node that signed them (one node).
    this.signingKey = signingKey ? Buffer.from(signingKey) : randomBytes(32);
  }

  async createUpload(userId: string, request: CreateUploadRequest): Promise<UploadTicket> {
    this.checkSize(request.size);
    if ((await this.usedBytes(userId)) + request.size > this.limits.attachmentQuotaBytes)
      throw new NatterError('attachment_quota_exceeded');
    const id = randomBytes(18).toString('base64url');
    const record: AttachmentRecord = {
      id,
      owner: userId,
      name: request.name,
      declaredSize: request.size,
      createdAt: this.clock.now(),
    };
    await this.save(record);
    const expiresAt = this.clock.now() + this.limits.attachmentGraceMs;
    if (!this.direct)
      return { id, upload_url: this.signedPath('upload', id, expiresAt), expires_at: expiresAt };
    // The store's URL lives shorter than the grace period: an hour is enough to send a file.
    const ttl = Math.min(this.limits.attachmentGraceMs, DIRECT_UPLOAD_TTL_MS);
    return {
      id,
      upload_url: await this.direct.uploadUrl(blobKey(id), request.size, ttl),
      complete_url: this.signedPath('complete', id, expiresAt),
      expires_at: this.clock.now() + ttl,
    };
  }

  /**
   * Finishes an upload the client PUT at the store itself: checks what arrived there (its size; its
   * type, sniffed from its first bytes) as `receive` checks bytes sent to the server, and deletes
   * it if refused. Asking again once it is done answers the same.
   */
  async complete(id: string, expires: string, signature: string): Promise<AttachmentRef> {
    const record = await this.verified('complete', id, expires, signature);
    if (record.stored) return record.stored;
    const direct = this.direct;
    if (!direct) throw new NatterError('not_found');
    const size = await direct.size(blobKey(id));
    if (size === null) throw new NatterError('bad_request', 'Nothing was uploaded yet: PUT the bytes first.');
    const refuse = async (error: NatterError) => {
      await this.blobs.delete(blobKey(id));
      return error;
    };
    if (size !== record.declaredSize)
      throw await refuse(
        new NatterError(
          'attachment_too_large',
          `The upload was declared as ${record.declaredSize} bytes but ${size} arrived.`,
        ),
      );
    const start = (await direct.head(blobKey(id), SNIFF_BYTES)) ?? new Uint8Array();
    const type = (await fileTypeFromBuffer(start))?.mime ?? textOrBinary(start);
    if (!this.allows(type))
      throw await refuse(
        new NatterError('attachment_type_not_allowed', `Files of type ${type} may not be attached.`),
      );
    // An image is read whole (it is at most the size limit) for its size and placeholder.
    const whole = type.startsWith('image/') ? await this.blobs.get(blobKey(id)) : null;
    return this.store(record, type, size, whole);
  }

  /** Takes the bytes of an upload (once); the type is sniffed from them, never taken from the request. */
  async receive(id: string, expires: string, signature: string, bytes: Uint8Array): Promise<AttachmentRef> {
    const record = await this.verified('upload', id, expires, signature);
    if (record.stored) throw new NatterError('bad_request', 'This upload has already been received.');
    if (bytes.byteLength !== record.declaredSize)
      throw new NatterError(
        'attachment_too_large',
        `The upload was declared as ${record.declaredSize} bytes but ${bytes.byteLength} arrived.`,
      );
    const type = (await fileTypeFromBuffer(bytes))?.mime ?? textOrBinary(bytes);
    if (!this.allows(type))
      throw new NatterError('attachment_type_not_allowed', `Files of type ${type} may not be attached.`);
    await this.blobs.put(blobKey(id), bytes, type);
    return this.store(record, type, bytes.byteLength, bytes);
  }

  /** Records an upload as stored, with an image's size and placeholder read from its bytes. */
  private async store(
    record: AttachmentRecord,
    type: string,
    byteLength: number,
    bytes: Uint8Array | null,
  ): Promise<AttachmentRef> {
    const size = bytes ? imageSize(bytes, type) : null;
    const thumbhash = bytes && size ? await thumbHashOf(bytes, type, size.width, size.height) : undefined;
    record.stored = {
      id: record.id,
      name: record.name,
      type,
      size: byteLength,
      ...(size ?? {}),
      ...(thumbhash ? { thumbhash } : {}),
    };
    await this.save(record);
    return record.stored;
  }

  /** The attachments a message from `userId` names, as they will be recorded in its event. */
  async resolve(userId: string, ids: string[]): Promise<AttachmentRef[]> {
    return Promise.all(
      ids.map(async (id) => {
        const record = await this.load(id);
        if (!record || record.owner !== userId || !record.stored)
          throw new NatterError(
            'bad_request',
            `Attachment ${id} is not an upload of yours that has arrived.`,
          );
        return record.stored;
      }),
    );
  }

  /** Records that a stored message carries these attachments (they are no longer orphans). */
  async referenced(ids: string[], conversationId: string, seq: number): Promise<void> {
    await this.blobs.put(
      messageKey(conversationId, seq),
      Buffer.from(JSON.stringify(ids)),
      'application/json',
    );
    for (const id of ids) {
      const record = await this.load(id);
      if (record && !record.message) await this.save({ ...record, message: { conversationId, seq } });
    }
  }

  /** Marks the media of a deleted message for collection after the grace period. */
  async messageDeleted(conversationId: string, seq: number): Promise<void> {
    const listed = await this.blobs.get(messageKey(conversationId, seq));
    if (!listed) return;
    for (const id of JSON.parse(Buffer.from(listed).toString('utf8')) as string[]) {
      const record = await this.load(id);
      if (record && record.deletedAt === undefined)
        await this.save({ ...record, deletedAt: this.clock.now() });
    }
    await this.blobs.delete(messageKey(conversationId, seq));
  }

  /** A signed download URL, for a user who can see the message carrying the attachment right now. */
  async downloadTicket(
    userId: string,
    conversationId: string,
    seq: number,
    id: string,
    visible: VisibleMessage,
  ): Promise<DownloadTicket> {
    const event = await visible(userId, conversationId, seq);
    const ref = event?.data?.attachments?.find((a) => a.id === id);
    if (!ref) throw new NatterError('not_found');
    const expiresAt = this.clock.now() + this.limits.attachmentUrlTtlMs;
    if (!this.direct) return { url: this.signedPath('download', id, expiresAt), expires_at: expiresAt };
    const url = await this.direct.downloadUrl(
      blobKey(id),
      ref.type,
      contentDisposition(ref),
      this.limits.attachmentUrlTtlMs,
    );
    return { url, expires_at: expiresAt };
  }

  /** The bytes behind a download URL, while it is valid. */
  async open(
    id: string,
    expires: string,
    signature: string,
  ): Promise<{ ref: AttachmentRef; bytes: Uint8Array }> {
    const record = await this.verified('download', id, expires, signature);
    const bytes = record.stored && (await this.blobs.get(blobKey(id)));
    if (!record.stored || !bytes) throw new NatterError('not_found');
    return { ref: record.stored, bytes };
  }

  /**
   * Deletes what is past the grace period: uploads never referenced by a message, and the media
   * of deleted messages. Returns the ids collected.
   */
  async collectGarbage(): Promise<string[]> {
    const now = this.clock.now();
    const collected: string[] = [];
    for (const key of await this.blobs.list('meta/')) {
      const record = await this.load(key.slice('meta/'.length, -'.json'.length));
      if (!record) continue;
      const since = record.message ? record.deletedAt : record.createdAt;
      if (since === undefined || now - since < this.limits.attachmentGraceMs) continue;
      await this.blobs.delete(blobKey(record.id));
      await this.blobs.delete(metaKey(record.id));
      collected.push(record.id);
    }
    return collected;
  }

  private checkSize(size: number): void {
    if (size > this.limits.attachmentMaxBytes)
      throw new NatterError(
        'attachment_too_large',
        `A file may be at most ${this.limits.attachmentMaxBytes} bytes (this one is ${size}).`,
      );
  }

  private allows(type: string): boolean {
    return this.limits.attachmentTypes.some((allowed) =>
      allowed.endsWith('/*') ? type.startsWith(allowed.slice(0, -1)) : type === allowed,
    );
  }

  private async usedBytes(userId: string): Promise<number> {
    let used = 0;
    for (const key of await this.blobs.list('meta/')) {
      const record = await this.load(key.slice('meta/'.length, -'.json'.length));
      if (record?.owner === userId) used += record.stored?.size ?? record.declaredSize;
    }
    return used;
  }

  private signedPath(purpose: 'upload' | 'complete' | 'download', id: string, expiresAt: number): string {
    const path =
      purpose === 'upload'
        ? `/v1/attachments/${id}/content`
        : purpose === 'complete'
          ? `/v1/attachments/${id}/complete`
          : `/v1/attachments/${id}`;
    return `${path}?expires=${expiresAt}&signature=${this.sign(purpose, id, expiresAt)}`;
  }

  private sign(purpose: string, id: string, expiresAt: number): string {
    return createHmac('sha256', this.signingKey)
      .update(`${purpose}\n${id}\n${expiresAt}`)
      .digest('base64url');
  }

  /** The record behind a signed URL; a bad, expired or unknown one is `not_found`, never a hint. */
  private async verified(purpose: string, id: string, expires: string, signature: string) {
    const expiresAt = Number(expires);
    const expected = Buffer.from(this.sign(purpose, id, expiresAt));
    const given = Buffer.from(signature);
    const valid =
      Number.isSafeInteger(expiresAt) &&
      expiresAt > this.clock.now() &&
      given.length === expected.length &&
      timingSafeEqual(given, expected);
    const record = valid ? await this.load(id) : null;
    if (!record) throw new NatterError('not_found');
    return record;
  }

  private async load(id: string): Promise<AttachmentRecord | null> {
    if (!/^[A-Za-z0-9_-]{16,64}$/.test(id)) return null;
    const bytes = await this.blobs.get(metaKey(id));
    return bytes ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as AttachmentRecord) : null;
  }

  private async save(record: AttachmentRecord): Promise<void> {
    await this.blobs.put(metaKey(record.id), Buffer.from(JSON.stringify(record)), 'application/json');
  }
}

/** file-type reads at most this much of a file's start. */
const SNIFF_BYTES = 4100;
const DIRECT_UPLOAD_TTL_MS = 60 * 60_000;

/** How a download presents itself: images inline (never SVG, which can carry script), the rest as files. */
export function contentDisposition(ref: AttachmentRef): string {
  const inline = ref.type.startsWith('image/') && ref.type !== 'image/svg+xml';
  return `${inline ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(ref.name)}`;
}

const blobKey = (id: string) => `blob/${id}`;
const metaKey = (id: string) => `meta/${id}.json`;
const messageKey = (conversationId: string, seq: number) =>
  `message/${Buffer.from(conversationId).toString('base64url')}/${seq}.json`;

/** What file-type cannot name: UTF-8 text without NUL bytes is text/plain, anything else opaque. */
function textOrBinary(bytes: Uint8Array): string {
  const sample = bytes.subarray(0, 4096);
  if (sample.includes(0)) return 'application/octet-stream';
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: true });
    return 'text/plain';
  } catch {
    return 'application/octet-stream';
  }
}
