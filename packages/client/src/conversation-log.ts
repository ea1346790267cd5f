import type { ChatEvent } from '@natter/protocol/core';

/**
 * Turns events that arrive out of order or more than once (live pushes, sync pages, fetches, our
 * own acks) into one ordered stream per conversation: each seq is released exactly once, and only
 * after every seq before it. Events beyond a hole wait until the hole is filled.
 */
export class ConversationLog {
  /** The highest seq released per conversation: everything up to it was released, in order. */
  private readonly released = new Map<string, number>();
  private readonly waiting = new Map<string, Map<number, ChatEvent>>();

  /** Starts a conversation at `seq` without releasing anything before it (a new device's view). */
  startAt(conversationId: string, seq: number): void {
    if (this.released.has(conversationId)) return;
    this.released.set(conversationId, seq);
    // Events that came in before the start (a push racing the listing) are behind it now.
    const waiting = this.waiting.get(conversationId);
    for (const early of waiting?.keys() ?? []) if (early <= seq) waiting?.delete(early);
    if (waiting?.size === 0) this.waiting.delete(conversationId);
  }

  /** Forgets a conversation (you hid it): if you are added again, it starts anew like any new one. */
  forget(conversationId: string): void {
    this.released.delete(conversationId);
    this.waiting.delete(conversationId);
  }

  /** Whether this conversation has been started or seen at all. */
  knows(conversationId: string): boolean {
    return this.released.has(conversationId) || this.waiting.has(conversationId);
  }

  /** The highest seq released for the conversation (0 if none). */
  releasedUpTo(conversationId: string): number {
    return this.released.get(conversationId) ?? 0;
  }

  /** Takes an event; returns the events that can now be released, in seq order. */
  accept(event: ChatEvent): ChatEvent[] {
    const id = event.conversation_id;
    const upTo = this.released.get(id) ?? 0;
    if (event.seq <= upTo) return [];
    let waiting = this.waiting.get(id);
    if (!waiting) {
      waiting = new Map();
      this.waiting.set(id, waiting);
    }
    waiting.set(event.seq, event);
    const out: ChatEvent[] = [];
    let next = upTo + 1;
    for (let e = waiting.get(next); e; e = waiting.get(next)) {
      out.push(e);
      waiting.delete(next);
      next += 1;
    }
    if (out.length > 0) this.released.set(id, next - 1);
    if (waiting.size === 0) this.waiting.delete(id);
    return out;
  }

  /**
   * Conversations with events waiting behind a hole: fetch after the released seq to fill it.
   * `missing` counts the seqs absent between the released one and the highest waiting one.
   */
  holes(): Array<{ conversationId: string; afterSeq: number; missing: number }> {
    return [...this.waiting].map(([id, waiting]) => {
      const afterSeq = this.releasedUpTo(id);
      const highest = Math.max(...waiting.keys());
      return { conversationId: id, afterSeq, missing: highest - afterSeq - waiting.size };
    });
  }
}
