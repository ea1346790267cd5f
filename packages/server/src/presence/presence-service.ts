import type { PresenceState, PresenceUpdateFrame } from '@natter/protocol';
import type { Logger } from 'pino';
import type { LogStore } from '../store/log-store.js';
import type { PresenceStore } from './presence-store.js';

/** A connection that can watch presence. */
export interface PresenceWatcher {
  readonly id: string;
  readonly userId: string;
  sendText(frame: string): void;
}

/**
 * Presence subscriptions: a connection names the users it wants to watch (the chat it has open,
 * its conversation list) and hears their online/offline transitions. Only users who share a
 * conversation with the watcher are visible, checked when subscribing and again at every change.
 */
export class PresenceService {
  private readonly watchers = new Map<string, Set<PresenceWatcher>>();
  private readonly watching = new Map<PresenceWatcher, string[]>();

  constructor(
    private readonly store: PresenceStore,
    private readonly log: LogStore,
    logger: Logger,
  ) {
    store.onChange((state) =>
      this.notify(state).catch((error: unknown) => logger.error({ err: error }, 'presence fan-out failed')),
    );
  }

  /** Replaces what `watcher` watches; returns the current state of the visible ones. */
  async subscribe(watcher: PresenceWatcher, userIds: string[]): Promise<PresenceState[]> {
    const visible = await this.log.sharingConversationWith(watcher.userId, [...new Set(userIds)]);
    this.unsubscribe(watcher);
    for (const id of visible) {
      const set = this.watchers.get(id);
      if (set) set.add(watcher);
      else this.watchers.set(id, new Set([watcher]));
    }
    this.watching.set(watcher, visible);
    return this.store.get(visible);
  }

  unsubscribe(watcher: PresenceWatcher): void {
    for (const id of this.watching.get(watcher) ?? []) {
      const set = this.watchers.get(id);
      set?.delete(watcher);
      if (set?.size === 0) this.watchers.delete(id);
    }
    this.watching.delete(watcher);
  }

  private async notify(state: PresenceState): Promise<void> {
    const set = this.watchers.get(state.user_id);
    if (!set || set.size === 0) return;
    const watcherUsers = [...new Set([...set].map((w) => w.userId))];
    const allowed = new Set(await this.log.sharingConversationWith(state.user_id, watcherUsers));
    const frame = JSON.stringify({ type: 'presence', ...state } satisfies PresenceUpdateFrame);
    for (const watcher of set) if (allowed.has(watcher.userId)) watcher.sendText(frame);
  }
}
