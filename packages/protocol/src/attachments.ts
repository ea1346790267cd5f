import { z } from 'zod';

/** An attachment's id: opaque, random, never guessable (it is not what grants a download). */
export const attachmentId = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'must be an attachment id');

/**
 * A file a message carries, as the server recorded it when the bytes arrived: `type` is sniffed
 * from the bytes (the client's claim is ignored), `width`/`height` are set for images so a client
 * can reserve the space before the image loads.
 */
export interface AttachmentRef {
  id: string;
  name: string;
  type: string;
  size: number;
  width?: number;
  height?: number;
  /**
   * PNG and JPEG images: a ThumbHash (https://evanw.github.io/thumbhash/, base64, about 25 bytes)
   * of the image, to paint a blurred placeholder before it loads.
   */
  thumbhash?: string;
}

/** POST /v1/attachments: ask for an upload of one file. */
export const CreateUploadRequest = z.strictObject({
  /** The file's name as the user sees it (shown on file cards and used for downloads). */
  name: z.string().min(1).max(255),
  /** The type the client believes the file has; advisory only (the server sniffs the bytes). */
  type: z.string().min(1).max(255),
  /** The exact byte length the client will upload. */
  size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
});
export type CreateUploadRequest = z.infer<typeof CreateUploadRequest>;

/** The answer to POST /v1/attachments: PUT the raw bytes to `upload_url` before `expires_at`. */
export interface UploadTicket {
  id: string;
  /**
   * Where to PUT the bytes, with no bearer token: a path relative to the server, or (when the
   * server stores files in S3 and lets clients reach it) an absolute presigned URL of the store.
   */
  upload_url: string;
  /** Present when `upload_url` is the store's: after the PUT, POST here (no body, no token) to finish. */
  complete_url?: string;
  expires_at: number;
}

/** The answer to GET /v1/conversations/{id}/messages/{seq}/attachments/{attachmentId}. */
export interface DownloadTicket {
  /**
   * A short-lived signed URL that serves the bytes without a bearer token: a path relative to the
   * server, or an absolute presigned URL of the store (resolve it against the server's URL).
   */
  url: string;
  expires_at: number;
}
