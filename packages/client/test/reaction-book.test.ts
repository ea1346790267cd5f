import type { ChatEvent, ReactionCount, ReactionSummary } from '@natter/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReactionBook } from '../src/reaction-book.js';

/** Fixed, so that a run replays; NATTER_TEST_SEED=<n> picks another (the test's name shows it). */
const SEED = Number(process.env.NATTER_TEST_SEED ?? 20_261_204);
if (!Number.isSafeInteger(SEED))
  throw new Error(`NATTER_TEST_SEED must be an integer, not ${process.env.NATTER_TEST_SEED}`);

const ME = 'me';
const USERS = [ME, 'ann', 'ben', 'cy'];
const EMOJI = ['👍', '❤️', '😂', '🏳️‍🌈'];
/** The messages reacted to: seqs 1 to 3, before any reaction. */
const MESSAGES = [1, 2, 3];

function reactionEvent(
  seq: number,
  target: number,
  sender: string,
  emoji: string,
  action: 'add' | 'remove',
  count: number,
): ChatEvent {
  return {
    conversation_id: 'c',
    seq,
    kind: 'reaction',
    sender_id: sender,
    device_id: null,
    client_msg_id: `r${seq}`,
    body: null,
    ref_seq: target,
    data: { emoji, action, count },
    deleted: false,
    created_at: 0,
  };
}

interface Reaction {
  message: number;
  user: string;
  emoji: string;
  action: 'add' | 'remove';
}

/**
 * The server's side, written as plainly as possible: who has each emoji on each message, the
 * reaction events with the count after each, and the summary a read would carry after any prefix
 * of them (as_of = newest reaction event on the message; emoji with count > 0 ordered by when their
 * count last rose from 0, as both stores order them; seq = the emoji's newest event; me = ME has it).
 */
class ServerReactions {
  /** events[i] is the i-th reaction event (seqs 10, 12, 14, ...: other events sit between). */
  readonly events: ChatEvent[] = [];
  /** summaries[k]: each message's summary after the first k events (absent: never reacted to). */
  readonly summaries: Array<Map<number, ReactionSummary>> = [new Map()];
  private readonly state = new Map<
    number,
    Map<string, { users: Set<string>; first: number; last: number }>
  >();

  constructor(reactions: readonly Reaction[]) {
    for (const reaction of reactions) this.react(reaction);
  }

  private react({ message, user, emoji, action }: Reaction): void {
    const seq = 10 + 2 * this.events.length;
    const perEmoji = this.state.get(message) ?? new Map();
    this.state.set(message, perEmoji);
    const known = perEmoji.get(emoji);
    const users = new Set(known?.users ?? []);
    if (action === 'add') users.add(user);
    else users.delete(user);
    const first = known && known.users.size > 0 ? known.first : seq;
    perEmoji.set(emoji, { users, first, last: seq });
    this.events.push(reactionEvent(seq, message, user, emoji, action, users.size));
    const summaries = new Map(this.summaries.at(-1));
    summaries.set(message, {
      as_of: seq,
      counts: [...perEmoji.entries()]
        .filter(([, e]) => e.users.size > 0)
        .sort(([, a], [, b]) => a.first - b.first)
        .map(([emoji, e]) => ({ emoji, count: e.users.size, me: e.users.has(ME), seq: e.last })),
    });
    this.summaries.push(summaries);
  }
}

/** What the book shows of a message, next to what it should show after the first `point` events. */
function compare(book: ReactionBook, server: ServerReactions, message: number, point: number) {
  const expected: ReactionCount[] = server.summaries[point]!.get(message)?.counts ?? [];
  return {
    actual: { shown: book.of(message), mine: EMOJI.filter((e) => book.mine(message, e)) },
    expected: { shown: expected, mine: EMOJI.filter((e) => expected.some((c) => c.emoji === e && c.me)) },
  };
}

const reactionArb: fc.Arbitrary<Reaction> = fc.record({
  message: fc.constantFrom(...MESSAGES),
  user: fc.constantFrom(...USERS),
  emoji: fc.constantFrom(...EMOJI),
  action: fc.constantFrom('add' as const, 'add' as const, 'remove' as const),
});

/** Where in the stream of events something arrives, and a free choice resolved against it. */
const placedArb = fc.record({ at: fc.nat(), pick: fc.nat(), message: fc.constantFrom(...MESSAGES) });

describe('ReactionBook', () => {
  it(`folds read summaries and reaction events to the server's state in any interleaving (seed ${SEED})`, () => {
    fc.assert(
      fc.property(
        fc.array(reactionArb, { minLength: 1, maxLength: 40 }),
        fc.nat(),
        fc.array(fc.nat(), { minLength: MESSAGES.length, maxLength: MESSAGES.length }),
        fc.array(placedArb, { maxLength: 8 }),
        fc.array(placedArb, { maxLength: 8 }),
        (reactions, startPick, anchorAt, reads, repeats) => {
          const server = new ServerReactions(reactions);
          const n = server.events.length;
          // The client follows the stream from event `start` on; its first read (the anchor, one
          // summary per message reacted to by then) was taken just before and may come in late.
          const start = startPick % (n + 1);
          type Arrival =
            | { type: 'event'; index: number; inOrder: boolean }
            | { type: 'read'; message: number; point: number; anchor: boolean };
          const slots: Arrival[][] = Array.from({ length: n - start + 1 }, () => []);
          const slot = (at: number) => slots[at % slots.length]!;
          MESSAGES.forEach((message, i) => {
            if (server.summaries[start]!.has(message))
              slot(anchorAt[i]!).push({ type: 'read', message, point: start, anchor: true });
          });
          // Later reads, taken at any point from the start on, arriving at any time.
          for (const read of reads)
            slot(read.at).push({
              type: 'read',
              message: read.message,
              point: start + (read.pick % (n - start + 1)),
              anchor: false,
            });
          // Repeats of events already sent (a replayed page), including ones from before the start.
          for (const repeat of repeats) {
            const sentBefore = start + (repeat.at % slots.length);
            if (sentBefore > 0)
              slot(repeat.at).push({ type: 'event', index: repeat.pick % sentBefore, inOrder: false });
          }
          const arrivals = slots.flatMap((extra, i) => [
            ...extra,
            ...(start + i < n ? [{ type: 'event' as const, index: start + i, inOrder: true }] : []),
          ]);

          const book = new ReactionBook(ME);
          let streamedUpTo = start;
          const readUpTo = new Map<number, number>();
          const anchored = new Set(MESSAGES.filter((m) => !server.summaries[start]!.has(m)));
          const trace: string[] = [];
          for (const arrival of arrivals) {
            if (arrival.type === 'event') {
              const event = server.events[arrival.index]!;
              book.apply(event);
              if (arrival.inOrder) streamedUpTo = arrival.index + 1;
              trace.push(`event #${arrival.index} (seq ${event.seq})`);
            } else {
              const summary = server.summaries[arrival.point]!.get(arrival.message);
              if (summary) book.merge(arrival.message, summary);
              readUpTo.set(arrival.message, Math.max(arrival.point, readUpTo.get(arrival.message) ?? 0));
              if (arrival.anchor) anchored.add(arrival.message);
              trace.push(`read of message ${arrival.message} after ${arrival.point} events`);
            }
            // Once all it missed is covered, the book shows the newest state it has heard of.
            for (const message of anchored) {
              const point = Math.max(streamedUpTo, readUpTo.get(message) ?? 0);
              const { actual, expected } = compare(book, server, message, point);
              expect(actual, `message ${message} after: ${trace.join(', ')}`).toEqual(expected);
            }
          }
          for (const message of MESSAGES) {
            const { actual, expected } = compare(book, server, message, n);
            expect(actual, `message ${message} at the end`).toEqual(expected);
          }
        },
      ),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('the reference model behaves like the server: redundant adds and removes keep the count', () => {
    const server = new ServerReactions([
      { message: 1, user: 'ann', emoji: '👍', action: 'add' },
      { message: 1, user: 'ann', emoji: '👍', action: 'add' },
      { message: 1, user: ME, emoji: '❤️', action: 'remove' },
      { message: 1, user: ME, emoji: '👍', action: 'add' },
    ]);
    expect(server.events.map((e) => e.data?.count)).toEqual([1, 1, 0, 2]);
    expect(server.summaries[4]!.get(1)).toEqual({
      as_of: 16,
      counts: [{ emoji: '👍', count: 2, me: true, seq: 16 }],
    });
    expect(server.summaries[2]!.has(2)).toBe(false);
  });

  it('a summary older than the events already applied changes none of what they set', () => {
    const book = new ReactionBook(ME);
    book.apply(reactionEvent(20, 1, 'ann', '👍', 'add', 1));
    book.apply(reactionEvent(21, 1, ME, '❤️', 'add', 1));
    book.apply(reactionEvent(22, 1, 'ann', '👍', 'remove', 0));
    book.merge(1, { as_of: 21, counts: [{ emoji: '👍', count: 1, me: false, seq: 20 }, heart(1, true, 21)] });
    expect(book.of(1)).toEqual([heart(1, true, 21)]);
    // Older than everything known: ignored whole.
    book.merge(1, { as_of: 20, counts: [{ emoji: '👍', count: 1, me: false, seq: 20 }] });
    expect(book.of(1)).toEqual([heart(1, true, 21)]);
    expect(book.mine(1, '❤️')).toBe(true);
  });

  it('an event older than the summary, or one seen already, is ignored', () => {
    const book = new ReactionBook(ME);
    book.merge(1, { as_of: 30, counts: [heart(2, true, 30)] });
    book.apply(reactionEvent(25, 1, ME, '❤️', 'remove', 1));
    book.apply(reactionEvent(28, 1, 'ann', '👍', 'add', 1));
    expect(book.of(1)).toEqual([heart(2, true, 30)]);
    book.apply(reactionEvent(31, 1, 'ann', '❤️', 'add', 3));
    book.apply(reactionEvent(31, 1, 'ann', '❤️', 'add', 3));
    book.apply(reactionEvent(30, 1, ME, '❤️', 'remove', 1));
    expect(book.of(1)).toEqual([heart(3, true, 31)]);
  });

  it('forgets a deleted message for good: older events arriving after the delete do not bring it back', () => {
    const book = new ReactionBook(ME);
    book.merge(1, { as_of: 12, counts: [heart(1, true, 12)] });
    book.apply(reactionEvent(13, 2, 'ann', '👍', 'add', 1));
    book.forget(1);
    expect(book.of(1)).toEqual([]);
    expect(book.mine(1, '❤️')).toBe(false);
    expect(book.of(2)).toEqual([{ emoji: '👍', count: 1, me: false, seq: 13 }]);
    // A page of older history, loaded after the delete came live, replays what went before it.
    book.apply(reactionEvent(12, 1, ME, '❤️', 'add', 1));
    book.merge(1, { as_of: 12, counts: [heart(1, true, 12)] });
    expect(book.of(1)).toEqual([]);
  });

  it('hides an emoji whose count fell to 0, and `me` follows your own adds and removes', () => {
    const book = new ReactionBook(ME);
    book.apply(reactionEvent(10, 1, ME, '❤️', 'add', 1));
    expect(book.mine(1, '❤️')).toBe(true);
    book.apply(reactionEvent(11, 1, 'ann', '❤️', 'add', 2));
    book.apply(reactionEvent(12, 1, ME, '❤️', 'remove', 1));
    expect(book.of(1)).toEqual([heart(1, false, 12)]);
    book.apply(reactionEvent(13, 1, 'ann', '❤️', 'remove', 0));
    expect(book.of(1)).toEqual([]);
    expect(book.mine(1, '❤️')).toBe(false);
    // A redundant remove by someone else leaves it at 0 and hidden.
    book.apply(reactionEvent(14, 1, 'ben', '❤️', 'remove', 0));
    expect(book.of(1)).toEqual([]);
  });

  it("orders emoji as first added: the summary's order, then new ones after", () => {
    const book = new ReactionBook(ME);
    book.merge(1, {
      as_of: 20,
      counts: [{ emoji: '😂', count: 1, me: false, seq: 20 }, heart(2, false, 15)],
    });
    book.apply(reactionEvent(21, 1, 'ann', '👍', 'add', 1));
    book.apply(reactionEvent(22, 1, ME, '❤️', 'add', 3));
    expect(book.of(1).map((c) => c.emoji)).toEqual(['😂', '❤️', '👍']);
  });

  it('puts an emoji re-added after falling to 0 last, as a read of the message orders it', () => {
    const server = new ServerReactions([
      { message: 1, user: 'ann', emoji: '👍', action: 'add' },
      { message: 1, user: 'ben', emoji: '❤️', action: 'add' },
      { message: 1, user: 'ann', emoji: '👍', action: 'remove' },
      { message: 1, user: 'ann', emoji: '👍', action: 'add' },
    ]);
    const book = new ReactionBook(ME);
    for (const event of server.events) book.apply(event);
    expect(book.of(1).map((c) => c.emoji)).toEqual(['❤️', '👍']);
    expect(book.of(1)).toEqual(server.summaries[4]!.get(1)!.counts);
  });

  it("keeps your reaction from a summary that arrives after someone else's newer event on that emoji", () => {
    const book = new ReactionBook(ME);
    // Live: Ann adds ❤️ to a message you reacted to with ❤️ before this device started.
    book.apply(reactionEvent(40, 1, 'ann', '❤️', 'add', 2));
    // Then the message is loaded: its summary (as of your reaction) says you are among them.
    book.merge(1, { as_of: 30, counts: [heart(1, true, 30)] });
    expect(book.of(1)).toEqual([heart(2, true, 40)]);
    expect(book.mine(1, '❤️')).toBe(true);
  });

  it('keeps events for a message not loaded yet until its summary comes', () => {
    const book = new ReactionBook(ME);
    book.apply(reactionEvent(50, 7, 'ann', '👍', 'add', 3));
    book.merge(7, {
      as_of: 45,
      counts: [heart(1, true, 45), { emoji: '👍', count: 2, me: false, seq: 44 }],
    });
    expect(book.of(7)).toEqual([heart(1, true, 45), { emoji: '👍', count: 3, me: false, seq: 50 }]);
  });
});

function heart(count: number, me: boolean, seq: number): ReactionCount {
  return { emoji: '❤️', count, me, seq };
}
