import { type ConversationKind, NatterError, type Role } from '@natter/protocol';
import { hasRoles } from './channel-rules.js';
import type { MemberRow } from './log-rows.js';

/**
 * Who may change a conversation's membership, as pure decisions over rows the adapter has read
 * inside its write transaction (so no decision can race the write it guards). Each check throws
 * the NatterError the op fails with, in a fixed order: `not_found` for an actor who is not a
 * current member (a non-member learns nothing about the conversation), then `forbidden`.
 */

/** The member row if it is a current member, else `not_found` (never a member, or left). */
export function requireCurrentMember(row: MemberRow | undefined): MemberRow {
  if (!row || row.left_seq !== null) throw new NatterError('not_found');
  return row;
}

/** The member row if it is a former member (left or removed), else `not_found` (current, or never). */
export function requireFormerMember(row: MemberRow | undefined): MemberRow {
  if (!row || row.left_seq === null) throw new NatterError('not_found');
  return row;
}

/** Adding members and renaming take an admin or owner of a group. */
export function checkManager(kind: ConversationKind, actor: MemberRow | undefined): void {
  const current = requireCurrentMember(actor);
  if (!hasRoles(kind) || current.role === 'member') throw new NatterError('forbidden');
}

/**
 * Removing `target` (or the actor leaving, when `leaving`; `target` is then ignored). Anyone may
 * leave a group; removing someone else takes an admin or owner, and removing an owner takes an
 * owner. Direct conversations have fixed members. Returns the current member row being removed.
 */
export function checkRemoval(
  kind: ConversationKind,
  actor: MemberRow | undefined,
  target: MemberRow | undefined,
  leaving: boolean,
): MemberRow {
  const current = requireCurrentMember(actor);
  if (!hasRoles(kind)) throw new NatterError('forbidden', 'Direct conversations have fixed members.');
  if (leaving) return current;
  const removed = requireCurrentMember(target);
  if (current.role === 'member' || (removed.role === 'owner' && current.role !== 'owner')) {
    throw new NatterError('forbidden');
  }
  return removed;
}

/**
 * Giving `target` the role `role`: only an owner of a group may, and a group keeps at least one
 * owner (`otherOwners` counts the current owners besides the target). Returns false when the
 * target already has that role (nothing to write), true when the change goes ahead.
 */
export function checkRoleChange(
  kind: ConversationKind,
  actor: MemberRow | undefined,
  target: MemberRow | undefined,
  role: Role,
  otherOwners: number,
): boolean {
  const current = requireCurrentMember(actor);
  if (!hasRoles(kind) || current.role !== 'owner') throw new NatterError('forbidden');
  const changed = requireCurrentMember(target);
  if (changed.role === role) return false;
  if (changed.role === 'owner' && otherOwners === 0) {
    throw new NatterError('forbidden', 'A group keeps at least one owner: make someone else owner first.');
  }
  return true;
}

/** The fields the hand-over looks at. */
export type SuccessorCandidate = Pick<MemberRow, 'user_id' | 'role' | 'joined_seq'>;

/**
 * Who takes over when `removed` leaves or is removed: a group never loses its last owner while it
 * has members. `others` are the other current members, in any order. Returns null when `removed`
 * is not an owner, when another owner remains, or when no one remains; else the longest-standing
 * admin, failing that the longest-standing member, ties broken by user_id (code-unit order, so
 * every adapter and collation picks the same one).
 */
export function successorOf(removed: MemberRow, others: SuccessorCandidate[]): SuccessorCandidate | null {
  if (removed.role !== 'owner' || others.some((m) => m.role === 'owner')) return null;
  let best: SuccessorCandidate | null = null;
  for (const candidate of others) {
    if (best === null || standsBefore(candidate, best)) best = candidate;
  }
  return best;
}

function standsBefore(a: SuccessorCandidate, b: SuccessorCandidate): boolean {
  const rank = (m: SuccessorCandidate) => (m.role === 'admin' ? 0 : 1);
  if (rank(a) !== rank(b)) return rank(a) < rank(b);
  if (a.joined_seq !== b.joined_seq) return a.joined_seq < b.joined_seq;
  return a.user_id < b.user_id;
}

/** A member joining a conversation, with the role they join with. */
export interface NewMember {
  userId: string;
  role: Role;
}

/**
 * Who a new conversation starts with: the creator first, then `memberIds` in order, each once.
 * A group's creator is its owner and everyone else a member; a direct conversation's members are
 * equals (`member`).
 */
export function foundingMembers(kind: ConversationKind, creatorId: string, memberIds: string[]): NewMember[] {
  return [...new Set([creatorId, ...memberIds])].map((userId) => ({
    userId,
    role: hasRoles(kind) && userId === creatorId ? 'owner' : 'member',
  }));
}
