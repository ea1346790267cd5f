import type { ChatEvent } from '@natter/protocol';
import { describe, expect, it } from 'vitest';
import { MemberCursors } from '../src/member-cursors.js';
import { messageEvent, summaryOf } from './scripted-server.js';

function membership(kind: ChatEvent['kind'], seq: number, data: ChatEvent['data']): ChatEvent {
  return { ...messageEvent('g', seq, 'owner'), kind, client_msg_id: null, body: null, data };
}

const none = new Set<string>();

describe('MemberCursors', () => {
  it('follows the member set from the created event and membership events, cursors only forward', () => {
    const members = new MemberCursors();
    expect(members.list()).toBeUndefined();
    members.fold(membership('created', 1, { title: 'g', member_ids: ['owner', 'bob'] }));
    members.fold(messageEvent('g', 2, 'owner'));
    members.fold(membership('member_added', 3, { user_id: 'carol', role: 'admin' }));
    members.advance('bob', 3, 2);
    members.advance('bob', 1, 1);
    expect(members.receiptsOf(2, new Set(['owner']))).toEqual([
      { userId: 'bob', delivered: true, read: true },
    ]);
    expect(members.receiptsOf(3, none)).toEqual([
      { userId: 'owner', delivered: false, read: false },
      { userId: 'bob', delivered: true, read: false },
      { userId: 'carol', delivered: true, read: true },
    ]);
    members.fold(membership('role_changed', 4, { user_id: 'bob', role: 'admin' }));
    members.fold(membership('member_left', 5, { user_id: 'carol' }));
    expect(members.list()?.map((m) => [m.userId, m.role])).toEqual([
      ['owner', 'owner'],
      ['bob', 'admin'],
    ]);
    expect(members.peers('owner')).toEqual({ delivered: 3, read: 2 });
  });

  it('replays membership events seen during a member list fetch over its answer', () => {
    const members = new MemberCursors();
    members.fetchStarted();
    members.fold(membership('member_removed', 9, { user_id: 'bob' }));
    members.fetched([
      { user_id: 'me', role: 'owner', joined_seq: 1, delivered_seq: 8, read_seq: 8 },
      { user_id: 'bob', role: 'member', joined_seq: 1, delivered_seq: 7, read_seq: 5 },
    ]);
    expect(members.list()?.map((m) => m.userId)).toEqual(['me']);
  });

  it('takes "everyone is at least here" from a summary, and says when the summary knows more', () => {
    const members = new MemberCursors();
    members.fetched([
      { user_id: 'me', role: 'owner', joined_seq: 1, delivered_seq: 1, read_seq: 1 },
      { user_id: 'bob', role: 'member', joined_seq: 1, delivered_seq: 1, read_seq: 1 },
    ]);
    const summary = { ...summaryOf('g', 6, 'group'), peers_read_seq: 4, peers_delivered_seq: 6 };
    expect(members.lagsBehind(summary, 'me')).toBe(true);
    members.applySummary(summary, 'me');
    expect(members.lagsBehind(summary, 'me')).toBe(false);
    expect(members.receiptsOf(5, new Set(['me']))).toEqual([{ userId: 'bob', delivered: true, read: false }]);
    expect(members.lagsBehind({ ...summary, member_count: 3 }, 'me')).toBe(true);
  });
});
