import type { ChatEvent, ReactionCount, ReactionSummary } from '@natter/protocol';

interface MessageReactions {
  /** The newest read summary's `as_of`: every reaction event up to it is reflected. */
  base: number;
  /** In the order each emoji was first added; entries may fall to count 0 and stay, for their seq. */
  byEmoji: Map<string, ReactionCount>;
}

/**
 * One conversation's reactions per message, folded from the two ways they arrive: the summaries a
 * read carries on each message (`ChatEvent.reactions`) and live `reaction` events, each of which
 * carries the count after it. Either may arrive first and either may repeat: a reaction event is
 * applied only when it is newer than everything known of its message and emoji, so the fold is
 * the same whatever the order (protocol §10.16). Messages need not be held: a reaction to a message
 * not loaded yet waits here for it.
 */
export class ReactionBook {
  private readonly messages = new Map<number, MessageReactions>();

  constructor(private readonly me: string) {}

  /** A read's summary of one message (absent on live pushes: nothing to merge). */
  merge(messageSeq: number, summary: ReactionSummary): void {
    const known = this.messages.get(messageSeq);
    if (known && known.base >= summary.as_of) return;
    const byEmoji = new Map<string, ReactionCount>();
    for (const count of summary.counts) byEmoji.set(count.emoji, { ...count });
    // Events applied here that the summary had not seen yet stay.
    for (const [emoji, count] of known?.byEmoji ?? []) {
      if (count.seq > summary.as_of) byEmoji.set(emoji, count);
    }
    this.messages.set(messageSeq, { base: summary.as_of, byEmoji });
  }

  /** A `reaction` event: applied when newer than the summary and than what is known of its emoji. */
  apply(event: ChatEvent): void {
    const emoji = event.data?.emoji;
    if (event.kind !== 'reaction' || event.ref_seq === null || emoji === undefined) return;
    let message = this.messages.get(event.ref_seq);
    if (!message) {
      message = { base: 0, byEmoji: new Map() };
      this.messages.set(event.ref_seq, message);
    }
    const known = message.byEmoji.get(emoji);
    if (event.seq <= message.base || (known && event.seq <= known.seq)) return;
    // An emoji back from 0 goes to the end, as the server orders it (by when it was last first added).
    if (known && known.count === 0) message.byEmoji.delete(emoji);
    message.byEmoji.set(emoji, {
      emoji,
      count: event.data?.count ?? 0,
      me: event.sender_id === this.me ? event.data?.action === 'add' : (known?.me ?? false),
      seq: event.seq,
    });
  }

  /** The message was deleted: its reactions go with it. */
  forget(messageSeq: number): void {
    this.messages.delete(messageSeq);
  }

  /** The emoji on a message with at least one reaction, in the order first added. */
  of(messageSeq: number): ReactionCount[] {
    const message = this.messages.get(messageSeq);
    return message ? [...message.byEmoji.values()].filter((c) => c.count > 0).map((c) => ({ ...c })) : [];
  }

  /** Whether you reacted with `emoji` on the message. */
  mine(messageSeq: number, emoji: string): boolean {
    return this.messages.get(messageSeq)?.byEmoji.get(emoji)?.me ?? false;
  }
}
