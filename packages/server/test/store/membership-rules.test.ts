import { describe, expect, it } from 'vitest';
import type { MemberRow } from '../../src/store/log-rows.js';
import { type SuccessorCandidate, successorOf } from '../../src/store/membership-rules.js';

const owner: MemberRow = {
  conversation_id: 'c1',
  user_id: 'u_owner',
  role: 'owner',
  joined_seq: 1,
  left_seq: null,
  left_pos: null,
  delivered_seq: 0,
  read_seq: 0,
  notifications: 'all',
  hidden: 0,
};

const member = (user_id: string, role: SuccessorCandidate['role'], joined_seq: number) => ({
  user_id,
  role,
  joined_seq,
});

describe('successorOf (the same hand-over in every adapter)', () => {
  it('picks the longest-standing admin, else the longest-standing member, ties by user id', () => {
    const others = [member('u_b', 'member', 1), member('u_z', 'admin', 5), member('u_a', 'admin', 5)];
    expect(successorOf(owner, others)?.user_id).toBe('u_a');
    expect(successorOf(owner, [member('u_b', 'member', 3), member('u_C', 'member', 3)])?.user_id).toBe('u_C');
    expect(successorOf(owner, [member('u_late', 'member', 9), member('u_early', 'member', 2)])?.user_id).toBe(
      'u_early',
    );
  });

  it('names nobody when another owner stays, when the leaver is no owner, or when no one is left', () => {
    expect(successorOf(owner, [member('u_o2', 'owner', 4), member('u_a', 'admin', 2)])).toBeNull();
    expect(successorOf({ ...owner, role: 'admin' }, [member('u_a', 'member', 2)])).toBeNull();
    expect(successorOf(owner, [])).toBeNull();
  });
});
