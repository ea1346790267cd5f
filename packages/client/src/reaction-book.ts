import type { ChatEvent, ReactionCount, ReactionSummary } from '@natter/protocol/core';

const NONE: ReactionCount[] = [];

/** One emoji's state; `me` is a guess until `meKnown` (from a summary or your own event). */
interface EmojiState extends ReactionCount {
  meKnown: boolean;
}

interface MessageReactions {
  /** The newest read summary's `as_of`: every reaction event up to it is reflected. */
  base: number;
  /** In the order each emoji was first added; entries may fall to count 0 and stay, for their seq. */
  byEmoji: Map<string, EmojiState>;
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
  /** Deleted messages: their reactions are gone for good, whatever a later page still carries. */
  private readonly deleted = new Set<number>();
  /** What `of` answered, per message, until its reactions change: the same array while they do not. */
  private readonly shown = new Map<number, ReactionCount[]>();

  constructor(private readonly me: string) {}

  /** A read's summary of one message (absent on live pushes: nothing to merge). */
  merge(messageSeq: number, summary: ReactionSummary): void {
    const known = this.messages.get(messageSeq);
    if (this.deleted.has(messageSeq) || (known && known.base >= summary.as_of)) return;
    this.shown.delete(messageSeq);
    const byEmoji = new Map<string, EmojiState>();
    for (const count of summary.counts) byEmoji.set(count.emoji, { ...count, meKnown: true });
    // Events applied here that the summary had not seen yet stay. Where only others' events were
    // seen, whether you are among the reactors comes from the summary (absent there: you are not).
    for (const [emoji, state] of known?.byEmoji ?? []) {
      if (state.seq <= summary.as_of) continue;
      const me = state.meKnown ? state.me : (byEmoji.get(emoji)?.me ?? false);
      byEmoji.set(emoji, { ...state, me, meKnown: true });
    }
    this.messages.set(messageSeq, { base: summary.as_of, byEmoji });
  }

  /** A `reaction` event: applied when newer than the summary and than what is known of its emoji. */
  apply(event: ChatEvent): void {
    const emoji = event.data?.emoji;
    if (event.kind !== 'reaction' || event.ref_seq === null || emoji === undefined) return;
    if (this.deleted.has(event.ref_seq)) return;
    let message = this.messages.get(event.ref_seq);
    if (!message) {
      message = { base: 0, byEmoji: new Map() };
      this.messages.set(event.ref_seq, message);
    }
    const known = message.byEmoji.get(emoji);
    if (event.seq <= message.base || (known && event.seq <= known.seq)) return;
    this.shown.delete(event.ref_seq);
    // An emoji back from 0 goes to the end, as the server orders it (by when it was last first added).
    if (known && known.count === 0) message.byEmoji.delete(emoji);
    const mine = event.sender_id === this.me;
    message.byEmoji.set(emoji, {
      emoji,
      count: event.data?.count ?? 0,
      me: mine ? event.data?.action === 'add' : (known?.me ?? false),
      seq: event.seq,
      // Before any summary of the message, someone else's event says nothing of yours.
      meKnown: mine || (known?.meKnown ?? message.base > 0),
    });
  }

  /** The message was deleted: its reactions go with it, for good. */
  forget(messageSeq: number): void {
    this.messages.delete(messageSeq);
    this.shown.delete(messageSeq);
    this.deleted.add(messageSeq);
  }

  /**
   * The emoji on a message with at least one reaction, in the order first added: the same array
   * until they change (do not modify it).
   */
  of(messageSeq: number): ReactionCount[] {
    const message = this.messages.get(messageSeq);
    if (!message) return NONE;
    let shown = this.shown.get(messageSeq);
    if (!shown) {
      shown = [...message.byEmoji.values()]
        .filter((c) => c.count > 0)
        .map(({ emoji, count, me, seq }) => ({ emoji, count, me, seq }));
      this.shown.set(messageSeq, shown);
    }
    return shown;
  }

  /** Whether you reacted with `emoji` on the message. */
  mine(messageSeq: number, emoji: string): boolean {
    return this.messages.get(messageSeq)?.byEmoji.get(emoji)?.me ?? false;
  }
}
