import { type ConversationKind, mayPost, NatterError, type PostingPolicy } from '@natter/protocol';
import type { NewEvent } from './log-events.js';
import type { MemberRow } from './log-rows.js';
import type { PeerCursors } from './member-view.js';

/**
 * What sets a channel apart, as pure decisions both adapters share. A channel is a group that fans
 * out on read: nothing per member is written when someone posts, so its members' views are found
 * at sync time from their own channel memberships (`user_channels`), not from the per-user change
 * index every other conversation keeps.
 */

/** Groups and channels have owners, admins and members; a direct conversation has two equals. */
export function hasRoles(kind: ConversationKind): boolean {
  return kind !== 'direct';
}

/**
 * In a channel whose posting policy is `admins`, a plain member may not post a message (a thread
 * reply is a message too); reactions stay open to every member.
 */
export function checkPosting(
  conversation: { kind: ConversationKind; posting: PostingPolicy },
  sender: MemberRow,
  eventKind: string,
): void {
  if (eventKind === 'message' && !mayPost({ ...conversation, role: sender.role })) {
    throw new NatterError('posting_restricted');
  }
}

/** Only a channel has a posting policy, and only its admins and owners change it (checked before). */
export function checkPostingChange(kind: ConversationKind): void {
  if (kind !== 'channel') throw new NatterError('bad_request', 'Only a channel has a posting policy.');
}

export function postingChangedEvent(actorId: string, policy: PostingPolicy): NewEvent {
  return { kind: 'settings_changed', senderId: actorId, data: { posting: policy } };
}

/**
 * A channel keeps no receipts for the other members to see (reading them would touch every
 * member row): a summary's peers' cursors read as the member's own.
 */
export const NO_PEERS: PeerCursors = { read: null, delivered: null, peer: null };

/**
 * The position at which a channel member's view last changed: the channel's own change position,
 * or the member's own last change (a cursor, notification level or thread cursor that moved only
 * their view), whichever is later; a former member's view is frozen at `left_pos`.
 */
export function channelViewPosition(changePos: number, ownPos: number, leftPos: number | null): number {
  return leftPos ?? Math.max(changePos, ownPos);
}

/**
 * Merges two lists of changed views, each ascending by `view_pos`, into one ascending list of at
 * most `limit`: the per-user index's views and the channel views of the same user.
 */
export function mergeByPosition<V extends { view_pos: number }>(a: V[], b: V[], limit: number): V[] {
  if (b.length === 0) return a.slice(0, limit);
  const out: V[] = [];
  let [i, j] = [0, 0];
  while (out.length < limit && (i < a.length || j < b.length)) {
    if (j >= b.length || (i < a.length && a[i]!.view_pos <= b[j]!.view_pos)) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}
