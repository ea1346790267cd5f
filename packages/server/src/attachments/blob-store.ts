/**
 * Where attachment bytes (and the small JSON record beside each) live: a flat key -> bytes map.
 *
 * Contract, for every adapter:
 * - `put` stores the bytes under the key, replacing any earlier value; once it resolves, `get`
 *   returns them (read-after-write, also from another node sharing the store).
 * - `get` resolves to `null` for a key never written or deleted; it never throws for "missing".
 * - `delete` is idempotent: deleting a missing key resolves quietly.
 * - `list` yields every key that starts with `prefix`, in no particular order (used by the
 *   garbage collector; may be slow, never called on a request path).
 * Keys are `[A-Za-z0-9/_.-]` only; adapters may rely on that.
 */
export interface BlobStore {
  put(key: string, bytes: Uint8Array, contentType: string): Promise<void>;
  get(key: string): Promise<Uint8Array | null>;
  delete(key: string): Promise<void>;
  list(prefix: string): Promise<string[]>;
}

/**
 * A store clients can reach themselves (S3 and its kin): they PUT and GET the bytes at presigned
 * URLs, so the bytes of uploads and downloads do not pass through Natter. The server still checks
 * what arrived (`size`, `head`) before any message may carry it.
 */
export interface DirectTransfer {
  /** Where browsers talk to the store (for the web app's Content-Security-Policy). */
  readonly origin: string;
  /** A URL that takes a PUT of exactly `size` bytes, for `ttlMs`. */
  uploadUrl(key: string, size: number, ttlMs: number): Promise<string>;
  /** A URL that serves the bytes with this type and disposition, for `ttlMs`. */
  downloadUrl(key: string, type: string, disposition: string, ttlMs: number): Promise<string>;
  /** The stored object's size, or null when there is none. */
  size(key: string): Promise<number | null>;
  /** Up to the first `length` bytes, or null when there is no object. */
  head(key: string, length: number): Promise<Uint8Array | null>;
}
