import { NatterError, type TypingUpdateFrame } from '@natter/protocol';
import type { Broadcaster } from '../chat/broadcaster.js';
import type { ChannelAudience } from '../chat/channel-audience.js';
import type { MemberDirectory } from '../chat/member-directory.js';
import { type Clock, systemClock, type Timer } from '../clock.js';

interface Typing {
  /** The other members currently see this user typing. */
  announced: boolean;
  lastForwarded: number;
  /** Ends the typing (ttl) while announced; forgets the entry once its cooldown is over otherwise. */
  timer: Timer;
}

/**
 * Typing indicators: ephemeral, rate-limited and self-expiring. A start is forwarded to the other
 * members at most once per `minIntervalMs`, even across stops (alternating start/stop gains
 * nothing); a start not refreshed within `ttlMs` ends with a stop from the server, so a client that
 * vanishes mid-sentence never leaves "typing..." behind. A stop is forwarded only after a start was.
 */
export class TypingService {
  private readonly active = new Map<string, Typing>();

  constructor(
    private readonly directory: MemberDirectory,
    /** Channels have no typing: a channel member's typing frame is dropped (see docs/protocol.md). */
    private readonly channels: Pick<ChannelAudience, 'isWatching'>,
    private readonly broadcaster: Broadcaster,
    private readonly ttlMs: number,
    private readonly minIntervalMs: number,
    private readonly clock: Clock = systemClock,
  ) {}

  async typing(userId: string, conversationId: string, state: 'start' | 'stop'): Promise<void> {
    if (this.channels.isWatching(conversationId, userId)) return;
    const members = await this.directory.currentMembers(conversationId);
    if (!members.includes(userId)) throw new NatterError('not_found');
    const key = `${conversationId}\n${userId}`;
    if (state === 'stop') {
      this.end(key, conversationId, userId, members);
      return;
    }
    const now = this.clock.now();
    const current = this.active.get(key);
    current?.timer.cancel();
    const forward = !current || now - current.lastForwarded >= this.minIntervalMs;
    const entry: Typing = {
      announced: forward || (current?.announced ?? false),
      lastForwarded: forward ? now : current!.lastForwarded,
      timer: this.clock.after(this.ttlMs, () => this.endLater(key, conversationId, userId)),
    };
    this.active.set(key, entry);
    if (forward) this.forward(conversationId, userId, 'start', members);
  }

  /** The user sent a message: whatever they were typing is done. */
  stopped(conversationId: string, userId: string): void {
    this.endLater(`${conversationId}\n${userId}`, conversationId, userId);
  }

  close(): void {
    for (const entry of this.active.values()) entry.timer.cancel();
    this.active.clear();
  }

  private endLater(key: string, conversationId: string, userId: string): void {
    const entry = this.active.get(key);
    if (entry?.announced) {
      this.directory.withCurrentMembers(conversationId, (m) => this.end(key, conversationId, userId, m));
    } else if (entry) {
      entry.timer.cancel();
      this.active.delete(key);
    }
  }

  /** Tells the others it stopped (if they were told it started); keeps the entry for its cooldown. */
  private end(key: string, conversationId: string, userId: string, members: string[]): void {
    const entry = this.active.get(key);
    if (!entry?.announced) return;
    entry.timer.cancel();
    entry.announced = false;
    entry.timer = this.clock.after(
      Math.max(0, entry.lastForwarded + this.minIntervalMs - this.clock.now()),
      () => {
        if (this.active.get(key) === entry && !entry.announced) this.active.delete(key);
      },
    );
    this.forward(conversationId, userId, 'stop', members);
  }

  private forward(conversationId: string, userId: string, state: 'start' | 'stop', members: string[]): void {
    const frame: TypingUpdateFrame = {
      type: 'typing',
      conversation_id: conversationId,
      user_id: userId,
      state,
      ttl_ms: this.ttlMs,
    };
    this.broadcaster.toUsers(
      members.filter((m) => m !== userId),
      JSON.stringify(frame),
    );
  }
}
