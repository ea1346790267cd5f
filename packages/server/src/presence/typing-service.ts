import { NatterError, type TypingUpdateFrame } from '@natter/protocol';
import type { Broadcaster } from '../chat/broadcaster.js';
import type { MemberDirectory } from '../chat/member-directory.js';

interface Typing {
  lastForwarded: number;
  timer: NodeJS.Timeout;
}

/**
 * Typing indicators: ephemeral, rate-limited and self-expiring. A start is forwarded to the other
 * members at most once per `minIntervalMs`; a start not refreshed within `ttlMs` ends with a stop
 * from the server, so a client that vanishes mid-sentence never leaves "typing..." behind.
 */
export class TypingService {
  private readonly active = new Map<string, Typing>();

  constructor(
    private readonly directory: MemberDirectory,
    private readonly broadcaster: Broadcaster,
    private readonly ttlMs: number,
    private readonly minIntervalMs: number,
  ) {}

  async typing(userId: string, conversationId: string, state: 'start' | 'stop'): Promise<void> {
    const members = await this.directory.currentMembers(conversationId);
    if (!members.includes(userId)) throw new NatterError('not_found');
    const key = `${conversationId}\n${userId}`;
    const current = this.active.get(key);
    if (state === 'stop') {
      if (current) this.end(key, current, conversationId, userId, members);
      return;
    }
    const now = Date.now();
    const timer = setTimeout(() => this.endLater(key, conversationId, userId), this.ttlMs);
    timer.unref();
    if (current) clearTimeout(current.timer);
    const forward = !current || now - current.lastForwarded >= this.minIntervalMs;
    this.active.set(key, { lastForwarded: forward ? now : current!.lastForwarded, timer });
    if (forward) this.forward(conversationId, userId, 'start', members);
  }

  /** The user sent a message: whatever they were typing is done. */
  stopped(conversationId: string, userId: string): void {
    this.endLater(`${conversationId}\n${userId}`, conversationId, userId);
  }

  close(): void {
    for (const entry of this.active.values()) clearTimeout(entry.timer);
    this.active.clear();
  }

  private endLater(key: string, conversationId: string, userId: string): void {
    const entry = this.active.get(key);
    if (entry)
      this.directory.withCurrentMembers(conversationId, (m) =>
        this.end(key, entry, conversationId, userId, m),
      );
  }

  private end(key: string, entry: Typing, conversationId: string, userId: string, members: string[]): void {
    if (this.active.get(key) !== entry) return;
    clearTimeout(entry.timer);
    this.active.delete(key);
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
