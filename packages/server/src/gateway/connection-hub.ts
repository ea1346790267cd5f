import type { Broadcaster } from '../chat/broadcaster.js';
import type { Connection } from './connection.js';

/**
 * The connection registry of this process: user -> live connections. It is the embedded
 * Broadcaster: delivering to a user is a map lookup and a write per device.
 */
export class ConnectionHub implements Broadcaster {
  private readonly byUser = new Map<string, Set<Connection>>();
  /** Connections per session (the token they authenticated with). */
  private readonly bySession = new Map<string, number>();

  /** Adds it; returns true when it is the user's first connection here. */
  add(connection: Connection): boolean {
    const set = this.byUser.get(connection.userId);
    if (set) {
      set.add(connection);
      return false;
    }
    this.byUser.set(connection.userId, new Set([connection]));
    return true;
  }

  /** Removes it; returns true when it was the user's last connection here. */
  remove(connection: Connection): boolean {
    const set = this.byUser.get(connection.userId);
    if (!set?.delete(connection)) return false;
    if (set.size > 0) return false;
    this.byUser.delete(connection.userId);
    return true;
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
    return this.byUser.get(userId)?.size ?? 0;
  }

  toUsers(userIds: Iterable<string>, frame: string, exceptConnectionId?: string): void {
    for (const userId of userIds) {
      const set = this.byUser.get(userId);
      if (!set) continue;
      for (const connection of set) {
        if (connection.id !== exceptConnectionId) connection.sendText(frame);
      }
    }
  }
}
