import type { ChatEvent } from '@natter/protocol';
import { describe, expect, it } from 'vitest';
import { ChannelAudience } from '../../src/chat/channel-audience.js';
import { createLogger } from '../../src/log.js';
import type { ChannelMembership } from '../../src/store/log-store.js';

/** A Broadcaster that records who was written what. */
function recorder() {
  const writes: Array<{ userIds: string[]; frame: string; except: string | undefined }> = [];
  return {
    writes,
    toUsers(userIds: Iterable<string>, frame: string, except?: string) {
      writes.push({ userIds: [...userIds], frame, except });
    },
  };
}

function event(seq: number, kind: ChatEvent['kind'], fields: Partial<ChatEvent> = {}): ChatEvent {
  return {
    conversation_id: 'c1',
    seq,
    kind,
    sender_id: 'owner',
    device_id: null,
    client_msg_id: null,
    body: kind === 'message' ? `#${seq}` : null,
    ref_seq: null,
    data: null,
    deleted: false,
    created_at: 0,
    ...fields,
  };
}

/** The users each delivered event went to, by seq. */
function deliveries(writes: ReturnType<typeof recorder>['writes']): Array<[number, string[]]> {
  return writes.map((w) => [(JSON.parse(w.frame) as { event: ChatEvent }).event.seq, w.userIds.sort()]);
}

describe('ChannelAudience', () => {
  it('delivers to online members only, learns joins and removals from the events, forgets at disconnect', async () => {
    const local = recorder();
    const online = new Set(['a', 'b', 'late']);
    const audience = new ChannelAudience({
      channelsOf: async (user): Promise<ChannelMembership[]> =>
        user === 'late' ? [] : [{ conversationId: 'c1', joinedSeq: 1 }],
      local,
      isOnline: (user) => online.has(user),
      log: createLogger('silent'),
    });
    await audience.userOnline('a');
    await audience.userOnline('b');
    await audience.userOnline('late');
    audience.toChannel(event(2, 'message'), 'conn-of-a');
    audience.toChannel(event(3, 'member_added', { data: { user_id: 'late' } }));
    audience.toChannel(event(4, 'member_removed', { data: { user_id: 'b' } }));
    audience.toChannel(event(5, 'message'));
    online.delete('a');
    audience.userOffline('a');
    audience.toChannel(event(6, 'message'));
    expect(deliveries(local.writes)).toEqual([
      [2, ['a', 'b']],
      [3, ['a', 'b', 'late']],
      [4, ['a', 'b', 'late']],
      [5, ['a', 'late']],
      [6, ['late']],
    ]);
    expect(local.writes[0]!.except).toBe('conn-of-a');
    expect(audience.isWatching('c1', 'late')).toBe(true);
    expect(audience.isWatching('c1', 'b')).toBe(false);
  });

  it('lets a removal delivered while the memberships load win over the older snapshot', async () => {
    const local = recorder();
    let answer: (m: ChannelMembership[]) => void = () => {};
    const audience = new ChannelAudience({
      channelsOf: () => new Promise((resolve) => (answer = resolve)),
      local,
      isOnline: () => true,
      log: createLogger('silent'),
    });
    const loading = audience.userOnline('u');
    audience.toChannel(event(7, 'member_left', { data: { user_id: 'u' } }));
    answer([{ conversationId: 'c1', joinedSeq: 1 }]);
    await loading;
    audience.toChannel(event(8, 'message'));
    expect(local.writes).toEqual([]);
    expect(audience.isWatching('c1', 'u')).toBe(false);
  });

  it('watches a channel joined while the memberships load, before the connection is in the hub', async () => {
    const local = recorder();
    let answer: (m: ChannelMembership[]) => void = () => {};
    const audience = new ChannelAudience({
      channelsOf: () => new Promise((resolve) => (answer = resolve)),
      local,
      isOnline: () => false,
      log: createLogger('silent'),
    });
    const loading = audience.userOnline('u');
    audience.toChannel(event(9, 'member_added', { data: { user_id: 'u' } }));
    answer([{ conversationId: 'c1', joinedSeq: 9 }]);
    await loading;
    audience.toChannel(event(10, 'message'));
    expect(deliveries(local.writes)).toEqual([
      [9, ['u']],
      [10, ['u']],
    ]);
    audience.userOffline('u');
    audience.toChannel(event(11, 'message'));
    expect(local.writes).toHaveLength(2);
  });

  it('strips the content of a message from before a member joined from an edit they are shown', async () => {
    const local = recorder();
    const audience = new ChannelAudience({
      channelsOf: async (user) => [{ conversationId: 'c1', joinedSeq: user === 'old' ? 1 : 10 }],
      local,
      isOnline: () => true,
      log: createLogger('silent'),
    });
    await audience.userOnline('old');
    await audience.userOnline('new');
    audience.toChannel(event(11, 'edit', { ref_seq: 5, body: 'secret' }));
    const frames = local.writes.map((w) => [
      w.userIds,
      (JSON.parse(w.frame) as { event: ChatEvent }).event.body,
    ]);
    expect(frames).toEqual([
      [['old'], 'secret'],
      [['new'], null],
    ]);
  });
});
