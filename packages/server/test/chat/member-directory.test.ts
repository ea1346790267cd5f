import type { ChatEvent, EventData, EventKind } from '@natter/protocol';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MemberDirectory } from '../../src/chat/member-directory.js';
import type { MemberSpan } from '../../src/store/log-store.js';
import { fakeLogStore } from '../helpers/fake-log-store.js';

function event(seq: number, kind: EventKind = 'message', data: EventData | null = null): ChatEvent {
  return {
    conversation_id: 'c1',
    seq,
    kind,
    sender_id: 'owner',
    device_id: null,
    client_msg_id: null,
    body: null,
    ref_seq: null,
    data,
    deleted: false,
    created_at: 0,
  };
}

const span = (userId: string, joinedSeq: number, leftSeq: number | null = null): MemberSpan => ({
  userId,
  joinedSeq,
  leftSeq,
});

/** A store holding one conversation's member spans; counts the loads, which may be held. */
function storeOf(spans: MemberSpan[], lastSeq: number) {
  const state = { spans, lastSeq, loads: 0, hold: undefined as Promise<void> | undefined };
  const store = fakeLogStore({
    memberSpans: async (conversationId) => {
      state.loads += 1;
      const snapshot = { spans: state.spans.map((s) => ({ ...s })), lastSeq: state.lastSeq };
      await state.hold;
      return conversationId === 'c1' ? snapshot : { spans: [], lastSeq: 0 };
    },
  });
  return { state, store };
}

const silent = pino({ level: 'silent' });

/** Lets every pending promise callback run. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

/** Routes an event and resolves to its recipients, sorted. */
function recipientsOf(directory: MemberDirectory, e: ChatEvent): Promise<string[]> {
  return new Promise((resolve) =>
    directory.route(e, (recipients) => resolve(recipients.map((r) => r.userId).sort())),
  );
}

describe('MemberDirectory', () => {
  it('loads a conversation once, then routes the next events from memory, synchronously', async () => {
    const { state, store } = storeOf([span('owner', 1), span('ann', 1)], 1);
    const directory = new MemberDirectory(store, silent);
    expect(await recipientsOf(directory, event(2))).toEqual(['ann', 'owner']);
    await settled(); // the load's queue is gone
    let delivered: string[] | undefined;
    directory.route(event(3), (recipients) => {
      delivered = recipients.map((r) => r.userId);
    });
    expect(delivered?.sort()).toEqual(['ann', 'owner']);
    expect(state.loads).toBe(1);
  });

  it('learns membership from the events it routes: an added member gets what follows, a removed one gets up to their removal', async () => {
    const { state, store } = storeOf([span('owner', 1), span('ann', 1)], 1);
    const directory = new MemberDirectory(store, silent);
    expect(
      await recipientsOf(directory, event(2, 'member_added', { user_id: 'bob', role: 'member' })),
    ).toEqual(['ann', 'bob', 'owner']);
    expect(await recipientsOf(directory, event(3))).toEqual(['ann', 'bob', 'owner']);
    expect(await recipientsOf(directory, event(4, 'member_removed', { user_id: 'ann' }))).toEqual([
      'ann',
      'bob',
      'owner',
    ]);
    expect(await recipientsOf(directory, event(5))).toEqual(['bob', 'owner']);
    expect(await recipientsOf(directory, event(6, 'member_left', { user_id: 'bob' }))).toEqual([
      'bob',
      'owner',
    ]);
    expect(await recipientsOf(directory, event(7))).toEqual(['owner']);
    expect(state.loads).toBe(1);
    // Current members come from the same cache when this node is the only writer.
    expect(await directory.currentMembers('c1')).toEqual(['owner']);
    expect(state.loads).toBe(1);
  });

  it('a created event names the first members', async () => {
    const { store } = storeOf([], 0);
    const directory = new MemberDirectory(store, silent);
    // An unknown conversation: the load finds nothing, and the created event fills it in.
    expect(await recipientsOf(directory, event(1, 'created', { member_ids: ['owner', 'ann'] }))).toEqual([
      'ann',
      'owner',
    ]);
  });

  it('reloads when it sees a gap in the seqs (an event it missed), and routes by the newer snapshot', async () => {
    const { state, store } = storeOf([span('owner', 1), span('ann', 1)], 1);
    const directory = new MemberDirectory(store, silent);
    await recipientsOf(directory, event(2));
    await settled(); // routing from memory now
    // Committed elsewhere while this node was not told: bob joined at 3, ann left at 4.
    state.spans = [span('owner', 1), span('ann', 1, 4), span('bob', 3)];
    state.lastSeq = 5;
    expect(await recipientsOf(directory, event(5))).toEqual(['bob', 'owner']);
    expect(state.loads).toBe(2);
    // The newer snapshot still answers an older event correctly: ann saw up to 4.
    expect(await recipientsOf(directory, event(4))).toEqual(['ann', 'bob', 'owner']);
  });

  it('delivers events queued behind a load in the order they were routed', async () => {
    const { state, store } = storeOf([span('owner', 1)], 1);
    let release!: () => void;
    state.hold = new Promise((resolve) => {
      release = resolve;
    });
    const directory = new MemberDirectory(store, silent);
    const order: number[] = [];
    for (const seq of [2, 3, 4]) directory.route(event(seq), () => order.push(seq));
    expect(order).toEqual([]);
    release();
    await settled();
    expect(order).toEqual([2, 3, 4]);
  });

  it('never caches a conversation the store does not know, so made-up ids take no room', async () => {
    const { state, store } = storeOf([], 0);
    const directory = new MemberDirectory(store, silent);
    expect(await directory.currentMembers('made-up')).toEqual([]);
    expect(await directory.currentMembers('made-up')).toEqual([]);
    expect(state.loads).toBe(2);
  });

  it('sharing the log with other nodes, currentMembers reads the store every time', async () => {
    const { state, store } = storeOf([span('owner', 1), span('ann', 1)], 1);
    const directory = new MemberDirectory(store, silent, true);
    await recipientsOf(directory, event(2));
    expect(state.loads).toBe(1);
    // A removal committed on another node: routing has not seen it, the store has.
    state.spans = [span('owner', 1), span('ann', 1, 3)];
    state.lastSeq = 3;
    expect(await directory.currentMembers('c1')).toEqual(['owner']);
    expect(state.loads).toBe(2);
  });

  it('alone on its log, currentMembers answers from the cache without a read', async () => {
    const { state, store } = storeOf([span('owner', 1), span('ann', 1)], 1);
    const directory = new MemberDirectory(store, silent, false);
    expect(await directory.currentMembers('c1')).toEqual(['owner', 'ann']);
    expect(await directory.currentMembers('c1')).toEqual(['owner', 'ann']);
    expect(state.loads).toBe(1);
  });

  it('keeps the newer of its cache and a slower load', async () => {
    const { state, store } = storeOf([span('owner', 1)], 1);
    const directory = new MemberDirectory(store, silent, true);
    await recipientsOf(directory, event(2));
    await recipientsOf(directory, event(3, 'member_added', { user_id: 'bob', role: 'member' }));
    // A read that started before seq 3 was routed answers with the older snapshot.
    state.lastSeq = 2;
    await directory.currentMembers('c1');
    expect(await recipientsOf(directory, event(4))).toEqual(['bob', 'owner']);
  });

  it('withCurrentMembers logs a failed load instead of throwing', async () => {
    const errors: unknown[] = [];
    const log = pino({ level: 'error' }, { write: (line: string) => errors.push(JSON.parse(line)) });
    const store = fakeLogStore({
      memberSpans: async () => {
        throw new Error('store down');
      },
    });
    const directory = new MemberDirectory(store, log);
    let used = false;
    directory.withCurrentMembers('c1', () => {
      used = true;
    });
    await settled();
    expect(used).toBe(false);
    expect(errors).toEqual([expect.objectContaining({ msg: 'membership load failed', conversation: 'c1' })]);
  });
});
