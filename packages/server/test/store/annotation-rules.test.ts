import { type ChatEvent, QUOTE_MAX_CHARS, type ReactionSummary } from '@natter/protocol';
import { describe, expect, it } from 'vitest';
import {
  checkMentions,
  quoteOf,
  type ReactionCountRow,
  summariesFromCounts,
  summariesFromEvents,
  withReactions,
} from '../../src/store/annotation-rules.js';
import { event, thrown } from './rule-fixtures.js';

const parent = { seq: 7, sender_id: 'u_alice' };

/** The code points of a string (what the quote limit counts), not its UTF-16 units. */
const codePoints = (s: string | null) => [...(s ?? '')];

/** A `reaction` event as the store writes it: the count after it. */
function reaction(
  seq: number,
  target: number,
  sender: string,
  emoji: string,
  action: 'add' | 'remove',
  count: number,
): ChatEvent {
  return event(seq, {
    kind: 'reaction',
    sender_id: sender,
    body: null,
    ref_seq: target,
    data: { emoji, action, count },
  });
}

function row(fields: Partial<ReactionCountRow> & Pick<ReactionCountRow, 'emoji'>): ReactionCountRow {
  return { target_seq: 5, count: 1, first_seq: 10, last_seq: 10, me: 0, ...fields };
}

describe('quoteOf', () => {
  it('keeps a text of at most QUOTE_MAX_CHARS code points whole, with the parent named', () => {
    expect(QUOTE_MAX_CHARS).toBe(200);
    expect(quoteOf(parent, 'short')).toEqual({ seq: 7, sender_id: 'u_alice', body: 'short', deleted: false });
    const exact = 'x'.repeat(QUOTE_MAX_CHARS);
    expect(quoteOf(parent, exact).body).toBe(exact);
    // 250 UTF-16 units but 200 code points: not cut (the limit is in characters, not units).
    const astral = `${'a'.repeat(150)}${'😀'.repeat(50)}`;
    expect(astral.length).toBe(250);
    expect(quoteOf(parent, astral).body).toBe(astral);
    expect(quoteOf(parent, '😀'.repeat(QUOTE_MAX_CHARS)).body).toBe('😀'.repeat(QUOTE_MAX_CHARS));
  });

  it('cuts a longer text to QUOTE_MAX_CHARS code points, the last one replaced by an ellipsis', () => {
    const cut = quoteOf(parent, 'y'.repeat(QUOTE_MAX_CHARS + 1)).body;
    expect(cut).toBe(`${'y'.repeat(QUOTE_MAX_CHARS - 1)}…`);
    expect(codePoints(cut)).toHaveLength(QUOTE_MAX_CHARS);

    // Astral characters are never split into lone surrogates.
    const emoji = quoteOf(parent, '😀'.repeat(250)).body;
    expect(emoji).toBe(`${'😀'.repeat(QUOTE_MAX_CHARS - 1)}…`);
    expect(codePoints(emoji)).toHaveLength(QUOTE_MAX_CHARS);
    expect(emoji!.isWellFormed()).toBe(true);

    // Mixed: the cut falls after 199 code points whatever their width.
    const mixed = `${'b'.repeat(100)}${'🎉'.repeat(100)}${'c'.repeat(5)}`;
    expect(quoteOf(parent, mixed).body).toBe(`${'b'.repeat(100)}${'🎉'.repeat(99)}…`);
    // A skin-toned emoji is two code points: a cut may fall between them, as the contract counts code points.
    const toned = `${'d'.repeat(199)}👍🏽`;
    expect(quoteOf(parent, toned).body).toBe(`${'d'.repeat(199)}…`);
  });

  it('is never marked deleted when made', () => {
    expect(quoteOf({ seq: 3, sender_id: 'u_bob' }, 'x')).toMatchObject({
      seq: 3,
      sender_id: 'u_bob',
      deleted: false,
    });
  });
});

describe('checkMentions', () => {
  const members = new Set(['u_alice', 'u_bob']);

  it('accepts current members, @all and @here, and nothing at all', () => {
    expect(() => checkMentions([], members)).not.toThrow();
    expect(() => checkMentions(['u_bob', '@all', 'u_alice', '@here'], members)).not.toThrow();
    expect(() => checkMentions(['@all', '@here'], new Set())).not.toThrow();
  });

  it('refuses anyone else with bad_request naming the id', () => {
    const e = thrown(() => checkMentions(['u_bob', 'u_mallory'], members));
    expect(e.code).toBe('bad_request');
    expect(e.message).toContain('u_mallory');
    // Group mentions are exact strings: look-alikes are user ids like any other.
    expect(thrown(() => checkMentions(['@everyone'], members)).code).toBe('bad_request');
    expect(thrown(() => checkMentions(['@ALL'], members)).code).toBe('bad_request');
  });
});

describe('summariesFromCounts', () => {
  it('orders each message’s emoji by when they were first added, whatever the row order', () => {
    const rows = [
      row({ emoji: '👍', count: 3, first_seq: 12, last_seq: 20, me: 1 }),
      row({ emoji: '🎉', count: 1, first_seq: 11, last_seq: 11, me: 0 }),
      row({ target_seq: 6, emoji: '❤️', count: 2, first_seq: 15, last_seq: 16, me: true }),
      row({ emoji: '😂', count: 1, first_seq: 18, last_seq: 19, me: false }),
    ];
    const out = summariesFromCounts(rows);
    expect([...out.keys()].sort()).toEqual([5, 6]);
    expect(out.get(5)).toEqual({
      as_of: 20,
      counts: [
        { emoji: '🎉', count: 1, me: false, seq: 11 },
        { emoji: '👍', count: 3, me: true, seq: 20 },
        { emoji: '😂', count: 1, me: false, seq: 19 },
      ],
    });
    expect(out.get(6)).toEqual({ as_of: 16, counts: [{ emoji: '❤️', count: 2, me: true, seq: 16 }] });
  });

  it('leaves out emoji back at 0 but counts them in as_of; a message with only such rows keeps an empty summary', () => {
    const out = summariesFromCounts([
      row({ emoji: '👍', count: 1, first_seq: 10, last_seq: 10 }),
      row({ emoji: '😢', count: 0, first_seq: 11, last_seq: 14 }),
      row({ target_seq: 9, emoji: '🎉', count: 0, first_seq: 30, last_seq: 31 }),
    ]);
    expect(out.get(5)).toEqual({ as_of: 14, counts: [{ emoji: '👍', count: 1, me: false, seq: 10 }] });
    expect(out.get(9)).toEqual({ as_of: 31, counts: [] });
  });

  it('gives no summary without rows', () => {
    expect(summariesFromCounts([]).size).toBe(0);
  });
});

describe('summariesFromEvents', () => {
  const [alice, bob, carol] = ['u_alice', 'u_bob', 'u_carol'];

  it('folds reaction events into counts (the last event’s count), me by the reader’s last action', () => {
    const events = [
      event(5),
      reaction(6, 5, alice, '🎉', 'add', 1),
      reaction(7, 5, bob, '👍', 'add', 1),
      reaction(8, 5, alice, '👍', 'add', 2),
      event(9, { body: 'another message' }),
      reaction(10, 9, carol, '❤️', 'add', 1),
      reaction(11, 5, carol, '👍', 'add', 3),
      reaction(12, 5, alice, '🎉', 'remove', 0),
      reaction(13, 5, bob, '😂', 'add', 1),
      // redundant: bob already has 👍, the count stays
      reaction(14, 5, bob, '👍', 'add', 3),
    ];
    const forAlice = summariesFromEvents(events, alice);
    expect(forAlice.get(5)).toEqual({
      as_of: 14,
      counts: [
        { emoji: '👍', count: 3, me: true, seq: 14 },
        { emoji: '😂', count: 1, me: false, seq: 13 },
      ],
    });
    expect(forAlice.get(9)).toEqual({ as_of: 10, counts: [{ emoji: '❤️', count: 1, me: false, seq: 10 }] });
    expect(forAlice.has(6)).toBe(false);

    const forBob = summariesFromEvents(events, bob);
    expect(forBob.get(5)?.counts.map((c) => [c.emoji, c.me])).toEqual([
      ['👍', true],
      ['😂', true],
    ]);
    const forCarol = summariesFromEvents(events, carol);
    expect(forCarol.get(9)?.counts[0]?.me).toBe(true);
    expect(forCarol.get(5)?.counts.find((c) => c.emoji === '👍')?.me).toBe(true);
  });

  it('turns me off when the reader removes theirs, and keeps it when someone else removes theirs', () => {
    const events = [
      reaction(3, 2, alice, '👍', 'add', 1),
      reaction(4, 2, bob, '👍', 'add', 2),
      reaction(5, 2, bob, '👍', 'remove', 1),
    ];
    expect(summariesFromEvents(events, alice).get(2)?.counts).toEqual([
      { emoji: '👍', count: 1, me: true, seq: 5 },
    ]);
    expect(summariesFromEvents(events, bob).get(2)?.counts).toEqual([
      { emoji: '👍', count: 1, me: false, seq: 5 },
    ]);
  });

  it('keeps a message whose reactions all went back to 0 as an empty summary, and ignores other kinds', () => {
    const events = [
      event(2),
      reaction(3, 2, alice, '👍', 'add', 1),
      event(4, { kind: 'edit', ref_seq: 2, body: 'edited' }),
      reaction(5, 2, alice, '👍', 'remove', 0),
      event(6, { kind: 'pinned', ref_seq: 2, body: null }),
    ];
    expect(summariesFromEvents(events, bob)).toEqual(new Map([[2, { as_of: 5, counts: [] }]]));
    expect(summariesFromEvents([event(2), event(3)], alice).size).toBe(0);
  });

  it('agrees with summariesFromCounts over the same history (the two ways a read is answered)', () => {
    const events = [
      reaction(10, 5, alice, '🎉', 'add', 1),
      reaction(11, 5, bob, '👍', 'add', 1),
      reaction(12, 5, alice, '👍', 'add', 2),
      reaction(13, 5, alice, '🎉', 'remove', 0),
      reaction(14, 5, carol, '❤️', 'add', 1),
    ];
    const rows: ReactionCountRow[] = [
      row({ emoji: '🎉', count: 0, first_seq: 10, last_seq: 13, me: 0 }),
      row({ emoji: '👍', count: 2, first_seq: 11, last_seq: 12, me: 1 }),
      row({ emoji: '❤️', count: 1, first_seq: 14, last_seq: 14, me: 0 }),
    ];
    expect(summariesFromEvents(events, alice)).toEqual(summariesFromCounts(rows));
  });
});

describe('withReactions', () => {
  const summary: ReactionSummary = { as_of: 9, counts: [{ emoji: '👍', count: 1, me: false, seq: 9 }] };

  it('puts each message’s summary on it and leaves every other event as it was', () => {
    const events = [
      event(1, { kind: 'created', body: null }),
      event(2),
      event(3),
      event(9, { kind: 'reaction', ref_seq: 2, data: { emoji: '👍', action: 'add', count: 1 } }),
    ];
    const before = structuredClone(events);
    // A summary keyed by a non-message's seq is not put on it.
    const out = withReactions(
      events,
      new Map([
        [2, summary],
        [9, summary],
        [1, summary],
      ]),
    );
    expect(out.map((e) => e.seq)).toEqual([1, 2, 3, 9]);
    expect(out[1]).toEqual({ ...events[1], reactions: summary });
    expect('reactions' in out[0]!).toBe(false);
    expect('reactions' in out[2]!).toBe(false);
    expect('reactions' in out[3]!).toBe(false);
    // The events passed in are not changed.
    expect(events).toEqual(before);
  });

  it('puts no summary on a deleted message: its reactions went with it', () => {
    const deleted = event(2, { body: null, deleted: true });
    const out = withReactions(
      [deleted, event(3)],
      new Map([
        [2, summary],
        [3, summary],
      ]),
    );
    expect('reactions' in out[0]!).toBe(false);
    expect(out[1]?.reactions).toEqual(summary);
  });

  it('returns the events unchanged when there are no summaries', () => {
    const events = [event(1), event(2)];
    expect(withReactions(events, new Map())).toEqual(events);
    expect(withReactions(events, new Map()).some((e) => 'reactions' in e)).toBe(false);
  });
});
