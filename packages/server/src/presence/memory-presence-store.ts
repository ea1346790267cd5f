import type { PresenceState } from '@natter/protocol';
import { type Clock, systemClock, type Timer } from '../clock.js';
import type { PresenceStore } from './presence-store.js';

interface Seen {
  lastSeen: number;
  online: boolean;
}

/**
 * In-process presence with a TTL, swept a few times per TTL: the embedded default (one node).
 * Everything happens synchronously inside each call, so listeners have heard a transition by the
 * time its call returns.
 */
export class MemoryPresenceStore implements PresenceStore {
  private readonly users = new Map<string, Seen>();
  private readonly online = new Set<string>();
  private readonly listeners: Array<(state: PresenceState) => void> = [];
  private readonly sweeper: Timer;

  constructor(
    private readonly ttlMs: number,
    clock: Clock = systemClock,
  ) {
    this.sweeper = clock.every(Math.max(25, Math.min(1000, ttlMs / 4)), () => this.sweep(clock.now()));
  }

  async beat(userId: string, now: number): Promise<void> {
    const seen = this.users.get(userId);
    if (seen) seen.lastSeen = now;
    else this.users.set(userId, { lastSeen: now, online: false });
    if (!this.online.has(userId)) this.transition(userId, true);
  }

  async leave(userId: string, now: number): Promise<void> {
    const seen = this.users.get(userId);
    if (!seen?.online) return;
    seen.lastSeen = now;
    this.transition(userId, false);
  }

  async get(userIds: string[]): Promise<PresenceState[]> {
    return userIds.map((id) => {
      const seen = this.users.get(id);
      return { user_id: id, online: seen?.online ?? false, last_seen: seen?.lastSeen ?? null };
    });
  }

  onChange(listener: (state: PresenceState) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.sweeper.cancel();
  }

  private sweep(now: number): void {
    for (const userId of this.online) {
      const seen = this.users.get(userId)!;
      if (now - seen.lastSeen > this.ttlMs) this.transition(userId, false);
    }
  }

  private transition(userId: string, online: boolean): void {
    const seen = this.users.get(userId)!;
    seen.online = online;
    if (online) this.online.add(userId);
    else this.online.delete(userId);
    const state = { user_id: userId, online, last_seen: seen.lastSeen };
    for (const listener of this.listeners) listener(state);
  }
}
