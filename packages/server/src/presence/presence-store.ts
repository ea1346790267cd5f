import type { PresenceState } from '@natter/protocol';

/**
 * Who is online: ephemeral, never in the durable log. Several nodes may share one store (a cluster);
 * every method is safe to call from any of them. Contract:
 * - `beat` marks the user online until `ttlMs` passes with no further beat from any node.
 * - `leave` means the user's last connection on this node closed: they go offline at once, last seen
 *   at that moment, unless another node has beaten for them within the TTL.
 * - `beat` and `leave` resolve once applied and never reject: a store that cannot reach its backend
 *   logs it, because presence only costs a refresh when lost and the next beat repairs it. Callers
 *   on the hot path may therefore fire and forget them. A store shared over a network may coalesce
 *   a user's repeated beats (the first one of a while is applied at once); the TTL then runs from a
 *   moment no earlier than the last beat, and other nodes see its time within the store's stated
 *   resolution.
 * - `get` answers in the order asked; a user never seen is offline with `last_seen: null`. It rejects
 *   (retryable `unavailable`) when the backend cannot be reached.
 * - Listeners on every node hear every online/offline transition once, expiry included, possibly
 *   after the call that caused it has resolved; last_seen is the time of the last beat (or of the
 *   leave). A store shared over a network may lose a transition while a node is cut off from it.
 */
export interface PresenceStore {
  beat(userId: string, now: number): Promise<void>;
  leave(userId: string, now: number): Promise<void>;
  get(userIds: string[]): Promise<PresenceState[]>;
  onChange(listener: (state: PresenceState) => void): void;
  close(): Promise<void>;
}
