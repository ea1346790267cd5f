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
