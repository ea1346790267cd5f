import type { Broadcaster } from '../chat/broadcaster.js';
import type { Connection } from './connection.js';

/**
 * The connection registry of this process: user -> live connections. It is the embedded
 * Broadcaster: delivering to a user is a map lookup and a write per device.
 */
export class ConnectionHub implements Broadcaster {
  /**
   * A user's connection, or a Set of them when there are several: most users have one, and a Set
   * with its table costs about 200 bytes more per user than the bare reference.
   */
  private readonly byUser = new Map<string, Connection | Set<Connection>>();
  /** Connections per session (the token they authenticated with). */
  private readonly bySession = new Map<string, number>();

  /** Adds it; returns true when it is the user's first connection here. */
  add(connection: Connection): boolean {
    const held = this.byUser.get(connection.userId);
    if (held === undefined) {
      this.byUser.set(connection.userId, connection);
      return true;
    }
    if (held instanceof Set) held.add(connection);
    else if (held !== connection) this.byUser.set(connection.userId, new Set([held, connection]));
    return false;
  }

  /** Removes it; returns true when it was the user's last connection here. */
  remove(connection: Connection): boolean {
    const held = this.byUser.get(connection.userId);
    if (held === connection) {
      this.byUser.delete(connection.userId);
      return true;
    }
    if (!(held instanceof Set) || !held.delete(connection)) return false;
    if (held.size === 1) this.byUser.set(connection.userId, held.values().next().value as Connection);
    return false;
  }

  /** Counts a connection of the session; true when it is the session's first here. */
  addSession(sessionKey: string): boolean {
    const count = this.bySession.get(sessionKey) ?? 0;
    this.bySession.set(sessionKey, count + 1);
    return count === 0;
  }

  /** Uncounts one; true when it was the session's last here. */
  removeSession(sessionKey: string): boolean {
    const count = this.bySession.get(sessionKey) ?? 0;
    if (count <= 1) {
      this.bySession.delete(sessionKey);
      return count === 1;
    }
    this.bySession.set(sessionKey, count - 1);
    return false;
  }

  hasSession(sessionKey: string): boolean {
    return this.bySession.has(sessionKey);
  }

  countFor(userId: string): number {
    const held = this.byUser.get(userId);
    return held === undefined ? 0 : held instanceof Set ? held.size : 1;
  }

  toUsers(userIds: Iterable<string>, frame: string, exceptConnectionId?: string): void {
    for (const userId of userIds) {
      const held = this.byUser.get(userId);
      if (held === undefined) continue;
      if (!(held instanceof Set)) {
        if (held.id !== exceptConnectionId) held.sendText(frame);
        continue;
      }
      for (const connection of held) {
        if (connection.id !== exceptConnectionId) connection.sendText(frame);
      }
    }
  }
}
