/**
 * Where the domain hands frames for live delivery. Delivery is best effort: a frame may be lost
 * (a socket dies, a bus drops it); the log and the heartbeat's change token heal that.
 */
export interface Broadcaster {
  /** Writes `frame` (already serialized, once) to every live connection of these users but one. */
  toUsers(userIds: Iterable<string>, frame: string, exceptConnectionId?: string): void;
}
