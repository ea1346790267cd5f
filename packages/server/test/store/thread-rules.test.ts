import { type ChatEvent, THREAD_PARTICIPANTS_SHOWN, type ThreadSummary } from '@natter/protocol';
import { describe, expect, it } from 'vitest';
import type { MemberRow } from '../../src/store/log-rows.js';
import {
  checkThreadRoot,
  movedThreadCursor,
  nextParticipants,
  participantsOf,
  type ThreadRow,
  threadSummaryOf,
  withThreads,
} from '../../src/store/thread-rules.js';
import { event, thrown } from './rule-fixtures.js';

const member: MemberRow = {
  conversation_id: 'c1',
  user_id: 'u_bob',
  role: 'member',
  joined_seq: 5,
  left_seq: null,
  left_pos: null,
  delivered_seq: 0,
  read_seq: 0,
  notifications: 'all',
  hidden: 0,
};

const row = (fields: Partial<ThreadRow> = {}): ThreadRow => ({
  root_seq: 7,
  reply_count: 4,
  last_reply_seq: 20,
  last_reply_at: 5_000,
  participants: '["u_c","u_b"]',
  ...fields,
});

describe('checkThreadRoot (the same root rule in every adapter)', () => {
  it('accepts a message the sender can see that is not deleted, including one at the seq they joined', () => {
    expect(() => checkThreadRoot(member, event(9))).not.toThrow();
    expect(() => checkThreadRoot(member, event(member.joined_seq))).not.toThrow();
    // A message with reply_to or mentions is a root like any other.
    expect(() => checkThreadRoot(member, event(9, { data: { mentions: ['@all'] } }))).not.toThrow();
  });

  it('answers not_found, the same for each, when there is nothing, no message, a deleted one, or one from before joining', () => {
    const nothing = thrown(() => checkThreadRoot(member, undefined));
    expect(nothing.code).toBe('not_found');
    const cases: Array<[string, ChatEvent]> = [
      ['an edit', event(9, { kind: 'edit', ref_seq: 8 })],
      ['a membership event', event(9, { kind: 'member_added', body: null })],
      ['a reaction', event(9, { kind: 'reaction', body: null, ref_seq: 8 })],
      ['a deleted message', event(9, { body: null, deleted: true })],
      ['a message from before the sender joined', event(member.joined_seq - 1)],
    ];
    for (const [what, root] of cases) {
      const e = thrown(() => checkThreadRoot(member, root));
      expect({ code: e.code, message: e.message }, what).toEqual({
        code: nothing.code,
        message: nothing.message,
      });
    }
  });

  it('answers bad_request for a reply in a thread: threads are one level deep', () => {
    const reply = event(12, { data: { thread: { root_seq: 9, seq: 1 } } });
    expect(thrown(() => checkThreadRoot(member, reply)).code).toBe('bad_request');
    // not_found still comes first when the sender cannot see it.
    const hidden = event(3, { data: { thread: { root_seq: 2, seq: 1 } } });
    expect(thrown(() => checkThreadRoot(member, hidden)).code).toBe('not_found');
  });
});

describe('nextParticipants', () => {
  it('puts the replier first, without repeats, keeping the others in recency order', () => {
    expect(nextParticipants([], 'u_a')).toEqual(['u_a']);
    expect(nextParticipants(['u_a'], 'u_b')).toEqual(['u_b', 'u_a']);
    expect(nextParticipants(['u_b', 'u_a'], 'u_a')).toEqual(['u_a', 'u_b']);
    expect(nextParticipants(['u_a', 'u_b'], 'u_a')).toEqual(['u_a', 'u_b']);
    expect(nextParticipants(['u_c', 'u_b', 'u_a'], 'u_b')).toEqual(['u_b', 'u_c', 'u_a']);
  });

  it(`keeps at most ${THREAD_PARTICIPANTS_SHOWN}, dropping the least recent`, () => {
    expect(THREAD_PARTICIPANTS_SHOWN).toBe(5);
    const five = ['u_5', 'u_4', 'u_3', 'u_2', 'u_1'];
    expect(nextParticipants(five, 'u_6')).toEqual(['u_6', 'u_5', 'u_4', 'u_3', 'u_2']);
    // One already shown moves to the front and nobody drops.
    expect(nextParticipants(five, 'u_1')).toEqual(['u_1', 'u_5', 'u_4', 'u_3', 'u_2']);
    let shown: string[] = [];
    for (const sender of ['a', 'b', 'a', 'c', 'd', 'e', 'f', 'g', 'b'])
      shown = nextParticipants(shown, sender);
    expect(shown).toEqual(['b', 'g', 'f', 'e', 'd']);
  });

  it('leaves the list it was given as it was', () => {
    const before = Object.freeze(['u_b', 'u_a']);
    expect(nextParticipants(before, 'u_a')).toEqual(['u_a', 'u_b']);
    expect(before).toEqual(['u_b', 'u_a']);
  });
});

describe('participantsOf', () => {
  it('reads the JSON text SQLite stores and the array PostgreSQL returns alike', () => {
    expect(participantsOf(row({ participants: '["u_c","u_b"]' }))).toEqual(['u_c', 'u_b']);
    expect(participantsOf(row({ participants: ['u_c', 'u_b'] }))).toEqual(['u_c', 'u_b']);
    expect(participantsOf(row({ participants: '[]' }))).toEqual([]);
  });
});

describe('movedThreadCursor', () => {
  it('a first read always moves, clamped to the newest reply (0 included: it makes a follower)', () => {
    expect(movedThreadCursor(null, 0, 3)).toBe(0);
    expect(movedThreadCursor(null, 2, 3)).toBe(2);
    expect(movedThreadCursor(null, 3, 3)).toBe(3);
    expect(movedThreadCursor(null, 99, 3)).toBe(3);
  });

  it('after that, forward only and clamped; null when it stays', () => {
    expect(movedThreadCursor(1, 2, 3)).toBe(2);
    expect(movedThreadCursor(1, 99, 3)).toBe(3);
    expect(movedThreadCursor(2, 2, 3)).toBeNull();
    expect(movedThreadCursor(2, 1, 3)).toBeNull();
    expect(movedThreadCursor(2, 0, 3)).toBeNull();
    expect(movedThreadCursor(3, 99, 3)).toBeNull();
    expect(movedThreadCursor(0, 0, 3)).toBeNull();
    // A follower already at the end stays when asked beyond it.
    expect(movedThreadCursor(3, 4, 3)).toBeNull();
  });
});

describe('threadSummaryOf', () => {
  it('for a follower: their cursor and unread, with the thread’s counts and participants', () => {
    expect(threadSummaryOf(row(), 2, 1)).toEqual({
      reply_count: 4,
      last_reply_seq: 20,
      last_reply_at: 5_000,
      participants: ['u_c', 'u_b'],
      following: true,
      read_seq: 2,
      unread: 1,
    } satisfies ThreadSummary);
    // Following at 0 (the root's author before reading) is following.
    expect(threadSummaryOf(row(), 0, 4)).toMatchObject({ following: true, read_seq: 0, unread: 4 });
  });

  it('for someone who does not follow: not following, cursor 0 and nothing unread whatever was counted', () => {
    expect(threadSummaryOf(row({ participants: ['u_x'] }), null, 3)).toEqual({
      reply_count: 4,
      last_reply_seq: 20,
      last_reply_at: 5_000,
      participants: ['u_x'],
      following: false,
      read_seq: 0,
      unread: 0,
    } satisfies ThreadSummary);
  });
});

describe('withThreads', () => {
  const summary = threadSummaryOf(row(), 1, 2);

  it('puts each root’s summary on its message only, leaving the rest and the input as they were', () => {
    const events = [
      event(7),
      event(8, { kind: 'edit', ref_seq: 7 }),
      event(9, { data: { thread: { root_seq: 7, seq: 1 } } }),
      event(10),
    ];
    const copy = structuredClone(events);
    const out = withThreads(
      events,
      new Map([
        [7, summary],
        [8, summary],
      ]),
    );
    expect(out[0]).toEqual({ ...events[0], thread: summary });
    // Only messages are roots: an event of another kind at a summarized seq gets none.
    expect('thread' in out[1]!).toBe(false);
    expect('thread' in out[2]!).toBe(false);
    expect('thread' in out[3]!).toBe(false);
    expect(out.map((e) => e.seq)).toEqual([7, 8, 9, 10]);
    expect(events).toEqual(copy);
  });

  it('keeps a deleted root’s summary: its thread stays readable', () => {
    const tombstone = event(7, { body: null, deleted: true });
    expect(withThreads([tombstone], new Map([[7, summary]]))[0]).toEqual({ ...tombstone, thread: summary });
  });

  it('returns the events untouched when there are no summaries', () => {
    const events = [event(7), event(8)];
    expect(withThreads(events, new Map())).toBe(events);
  });
});
