import type { PresenceState } from '@natter/protocol';

/**
 * Who is online: ephemeral, never in the durable log. Contract:
 * - `beat` marks the user online until `ttlMs` passes with no further beat.
 * - `leave` marks them offline at once (their last connection closed), last seen at that moment.
 * - Listeners hear every online/offline transition once, expiry included; last_seen is the time of
 *   the last beat (or of the leave). Losing this store costs a refresh, never a message.
 */
export interface PresenceStore {
  beat(userId: string, now: number): void;
  leave(userId: string, now: number): void;
  get(userIds: string[]): PresenceState[];
  onChange(listener: (state: PresenceState) => void): void;
  close(): void;
}
