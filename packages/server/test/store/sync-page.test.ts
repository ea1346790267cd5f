import type { ChatEvent, ConversationSummary } from '@natter/protocol';
import { describe, expect, it } from 'vitest';
import type { SyncPage } from '../../src/store/log-store.js';
import {
  type ChangedView,
  checkSyncToken,
  EVENT_OVERHEAD_BYTES,
  SYNC_PAGE_BYTES,
  SyncPageAssembler,
  type SyncPageRequest,
} from '../../src/store/sync-page.js';

function summary(conversationId: string): ConversationSummary {
  return {
    conversation_id: conversationId,
    kind: 'group',
    title: conversationId,
    peer_id: null,
    role: 'member',
    member_count: 2,
    last_seq: 0,
    joined_seq: 1,
    left_seq: null,
    read_seq: 0,
    delivered_seq: 0,
    unread: 0,
    mentions: 0,
    pinned: [],
    notifications: 'all',
    thread_unread: 0,
    group_mentions: 'anyone',
    posting: 'everyone',
    peers_read_seq: 0,
    peers_delivered_seq: 0,
    last_message: null,
    created_at: 0,
    updated_at: 0,
  };
}

function events(conversationId: string, count: number, bodyBytes = 0): ChatEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    conversation_id: conversationId,
    seq: i + 1,
    kind: 'message' as const,
    sender_id: 'u2',
    device_id: null,
    client_msg_id: `m${i}`,
    body: 'x'.repeat(bodyBytes),
    ref_seq: null,
    data: null,
    deleted: false,
    created_at: 0,
  }));
}

/** Views c1, c2, ... changed at positions 10, 20, ... */
function views(count: number): ChangedView[] {
  return Array.from({ length: count }, (_, i) => ({ conversation_id: `c${i + 1}`, view_pos: (i + 1) * 10 }));
}

/**
 * Drives an assembler the way both store readers do: views read with `limit + 1` rows, each view's
 * summary and at most `eventsToRead` of its events read only when the assembler yields it.
 */
function assemble(
  changed: ChangedView[],
  request: SyncPageRequest,
  eventsOf: (conversationId: string) => ChatEvent[],
  latestPosition: number,
): { page: SyncPage; read: string[]; eventsToRead: number } {
  const assembler = new SyncPageAssembler(changed.slice(0, request.limit + 1), request);
  const read: string[] = [];
  for (const view of assembler.viewsThatFit()) {
    read.push(view.conversation_id);
    const available = assembler.eventsToRead === 0 ? [] : eventsOf(view.conversation_id);
    assembler.add(summary(view.conversation_id), available.slice(0, assembler.eventsToRead));
  }
  const page = assembler.finish(assembler.hasMore ? null : latestPosition);
  return { page, read, eventsToRead: assembler.eventsToRead };
}

const ids = (page: SyncPage) => page.conversations.map((c) => c.conversation_id);

describe('checkSyncToken', () => {
  it('accepts positions up to the store’s newest', () => {
    expect(() => checkSyncToken(0, 0, 0)).not.toThrow();
    expect(() => checkSyncToken(50, 40, 50)).not.toThrow();
  });

  it.each([
    [51, 40],
    [40, 51],
  ])(
    'refuses a token ahead of the store (after %i, events since %i, newest 50) as bad_request',
    (after, since) => {
      expect(() => checkSyncToken(after, since, 50)).toThrow(
        expect.objectContaining({ code: 'bad_request', message: expect.stringMatching(/restored/) }),
      );
    },
  );
});

describe('SyncPageAssembler', () => {
  it('a page of everything that changed ends at the user’s latest position', () => {
    const { page, read } = assemble(
      views(3),
      { after: 0, limit: 10, eventsPerConversation: 5 },
      (id) => events(id, 2),
      77,
    );
    expect(ids(page)).toEqual(['c1', 'c2', 'c3']);
    expect(read).toEqual(['c1', 'c2', 'c3']);
    expect(page.events).toHaveLength(6);
    expect(page).toMatchObject({ hasMore: false, position: 77, truncated: [] });
  });

  it('stops at `limit` conversations: more follow, and the position is the last included view’s', () => {
    const { page, read } = assemble(
      views(5),
      { after: 0, limit: 2, eventsPerConversation: 5 },
      (id) => events(id, 1),
      99,
    );
    expect(ids(page)).toEqual(['c1', 'c2']);
    expect(read).toEqual(['c1', 'c2']);
    expect(page).toMatchObject({ hasMore: true, position: 20 });
  });

  it('exactly `limit` changed views is one last page', () => {
    const { page } = assemble(
      views(2),
      { after: 0, limit: 2, eventsPerConversation: 5 },
      (id) => events(id, 1),
      25,
    );
    expect(page).toMatchObject({ hasMore: false, position: 25 });
  });

  it('reads one event beyond the per-conversation share, keeps the share and lists the conversation as truncated', () => {
    const { page, eventsToRead } = assemble(
      views(2),
      { after: 0, limit: 10, eventsPerConversation: 3 },
      (id) => events(id, id === 'c1' ? 10 : 3),
      40,
    );
    expect(eventsToRead).toBe(4);
    expect(page.truncated).toEqual(['c1']);
    expect(page.events.map((e) => `${e.conversation_id}:${e.seq}`)).toEqual([
      'c1:1',
      'c1:2',
      'c1:3',
      'c2:1',
      'c2:2',
      'c2:3',
    ]);
  });

  it('with no events per conversation (a listing), reads none and lists summaries only', () => {
    const { page, eventsToRead } = assemble(
      views(2),
      { after: 0, limit: 10, eventsPerConversation: 0 },
      () => {
        throw new Error('a listing reads no events');
      },
      40,
    );
    expect(eventsToRead).toBe(0);
    expect(ids(page)).toEqual(['c1', 'c2']);
    expect(page.events).toEqual([]);
    expect(page.truncated).toEqual([]);
  });

  it('stops adding conversations once the events pass the page’s byte budget, the one that crossed it included', () => {
    const perEvent = EVENT_OVERHEAD_BYTES + 1000;
    const eventsToCross = Math.floor(SYNC_PAGE_BYTES / perEvent) + 1;
    const { page, read } = assemble(
      views(4),
      { after: 0, limit: 10, eventsPerConversation: eventsToCross },
      (id) => events(id, id === 'c2' ? eventsToCross : 1, 1000),
      80,
    );
    expect(read).toEqual(['c1', 'c2']);
    expect(ids(page)).toEqual(['c1', 'c2']);
    expect(page).toMatchObject({ hasMore: true, position: 20 });
  });

  it('at exactly the byte budget it still takes the next conversation', () => {
    // Bodies sized so that c1's events weigh SYNC_PAGE_BYTES exactly.
    const count = 4;
    const body = SYNC_PAGE_BYTES / count - EVENT_OVERHEAD_BYTES;
    const { page } = assemble(
      views(2),
      { after: 0, limit: 10, eventsPerConversation: count },
      (id) => events(id, id === 'c1' ? count : 1, body),
      30,
    );
    expect(ids(page)).toEqual(['c1', 'c2']);
    expect(page.hasMore).toBe(false);
  });

  it('a last page never moves the position backwards from the token’s', () => {
    const { page } = assemble([], { after: 500, limit: 10, eventsPerConversation: 5 }, () => [], 300);
    expect(page).toMatchObject({ conversations: [], hasMore: false, position: 500 });
  });

  it('a last page needs the latest position', () => {
    const assembler = new SyncPageAssembler([], { after: 0, limit: 10, eventsPerConversation: 5 });
    expect(() => assembler.finish(null)).toThrow(/latest position/);
  });
});
