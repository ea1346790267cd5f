import {
  type ChatEvent,
  type ConversationKind,
  GROUP_MENTIONS,
  type GroupMentionPolicy,
  MAX_PINS,
  MAX_REACTION_EMOJI,
  NatterError,
  QUOTE_MAX_CHARS,
  type ReactionCount,
  type ReactionSummary,
  type ReplyQuote,
} from '@natter/protocol';
import type { AmendTarget } from './amend-rules.js';
import { hasRoles } from './channel-rules.js';
import type { MemberRow } from './log-rows.js';

/**
 * The rules for what points at a message (a reply's quote, mentions, reactions, pins), as pure
 * functions both adapters call inside their write transaction, and the fold of reaction events a
 * reader uses where it cannot use the running counts.
 */

/**
 * The message a reply, reaction or pin names must be a message the member can see (sent since
 * they joined) and not deleted; anything else reads as `not_found`, like a seq that does not exist.
 */
export function checkTarget(member: MemberRow, target: AmendTarget | undefined): asserts target {
  if (target?.kind !== 'message' || target.deleted || target.seq < member.joined_seq) {
    throw new NatterError('not_found', 'No such message in this conversation.');
  }
}

/** The quote a reply carries: the parent's current text (`body`, edits applied), cut to QUOTE_MAX_CHARS. */
export function quoteOf(parent: { seq: number; sender_id: string }, body: string | null): ReplyQuote {
  const chars = [...(body ?? '')];
  const text = chars.length > QUOTE_MAX_CHARS ? `${chars.slice(0, QUOTE_MAX_CHARS - 1).join('')}…` : body;
  return { seq: parent.seq, sender_id: parent.sender_id, body: text, deleted: false };
}

/**
 * Mentions name current members (`members`: those of `mentioned` who are) or `@all` / `@here`.
 * Naming anyone else is `bad_request`: the sender can see the member list, so this tells them
 * nothing they could not know.
 */
export function checkMentions(mentioned: readonly string[], members: ReadonlySet<string>): void {
  for (const id of mentioned) {
    if ((GROUP_MENTIONS as readonly string[]).includes(id) || members.has(id)) continue;
    throw new NatterError(
      'bad_request',
      `mentions: ${JSON.stringify(id)} is not a member of this conversation.`,
    );
  }
}

/** In a group that reserves them for admins, a plain member may not mention `@all` / `@here`. */
export function checkGroupMentions(
  mentioned: readonly string[],
  conversation: { kind: ConversationKind; group_mentions: GroupMentionPolicy },
  sender: MemberRow,
): void {
  const everyone = mentioned.some((id) => (GROUP_MENTIONS as readonly string[]).includes(id));
  if (
    everyone &&
    hasRoles(conversation.kind) &&
    conversation.group_mentions === 'admins' &&
    sender.role === 'member'
  ) {
    throw new NatterError('forbidden', 'Only admins and owners may mention @all or @here in this group.');
  }
}

/** The user ids among the mentions: `@all` / `@here` are not looked up. */
export function mentionedUsers(mentioned: readonly string[]): string[] {
  return mentioned.filter((id) => !(GROUP_MENTIONS as readonly string[]).includes(id));
}

/** A new emoji on a message (none of it there yet) is refused once the message has MAX_REACTION_EMOJI. */
export function checkNewEmoji(emojiOnMessage: number): void {
  if (emojiOnMessage >= MAX_REACTION_EMOJI) {
    throw new NatterError('bad_request', `A message carries at most ${MAX_REACTION_EMOJI} different emoji.`);
  }
}

/** In a group only admins and owners pin; in a direct conversation either member may. */
export function checkPinner(kind: ConversationKind, member: MemberRow): void {
  if (hasRoles(kind) && member.role === 'member') {
    throw new NatterError('forbidden', 'Only admins and owners pin messages in a group.');
  }
}

/** Pinning one more message (not already pinned) is refused at MAX_PINS. */
export function checkPinRoom(pinnedNow: number, alreadyPinned: boolean): void {
  if (!alreadyPinned && pinnedNow >= MAX_PINS) {
    throw new NatterError(
      'bad_request',
      `A conversation has at most ${MAX_PINS} pinned messages; unpin one first.`,
    );
  }
}

/** A row of the running reaction counts: one per (message, emoji), kept when the count falls to 0. */
export interface ReactionCountRow {
  target_seq: number;
  emoji: string;
  count: number;
  first_seq: number;
  last_seq: number;
  /** 1 (or true) when the reader is among them. */
  me: number | boolean;
}

/** Folds count rows (any order) into each message's summary; messages with no row get none. */
export function summariesFromCounts(rows: readonly ReactionCountRow[]): Map<number, ReactionSummary> {
  const byTarget = new Map<number, ReactionCountRow[]>();
  for (const row of rows) {
    const list = byTarget.get(row.target_seq) ?? [];
    list.push(row);
    byTarget.set(row.target_seq, list);
  }
  const out = new Map<number, ReactionSummary>();
  for (const [target, list] of byTarget) {
    list.sort((a, b) => a.first_seq - b.first_seq);
    out.set(target, {
      as_of: Math.max(...list.map((r) => r.last_seq)),
      counts: list
        .filter((r) => r.count > 0)
        .map((r) => ({ emoji: r.emoji, count: r.count, me: Boolean(r.me), seq: r.last_seq })),
    });
  }
  return out;
}

/**
 * The same summaries folded from `reaction` events themselves (ascending by seq): for a former
 * member, whose view stops at their removal while the running counts go on. Each event carries the
 * count after it, so the last one per (message, emoji) is the state; `me` is the user's last action.
 */
export function summariesFromEvents(
  events: readonly ChatEvent[],
  userId: string,
): Map<number, ReactionSummary> {
  const state = new Map<number, Map<string, ReactionCount & { first: number }>>();
  const asOf = new Map<number, number>();
  for (const e of events) {
    const emoji = e.data?.emoji;
    if (e.kind !== 'reaction' || e.ref_seq === null || emoji === undefined) continue;
    const perEmoji = state.get(e.ref_seq) ?? new Map();
    state.set(e.ref_seq, perEmoji);
    asOf.set(e.ref_seq, e.seq);
    const before = perEmoji.get(emoji);
    const count = e.data?.count ?? 0;
    perEmoji.set(emoji, {
      emoji,
      count,
      me: e.sender_id === userId ? e.data?.action === 'add' : (before?.me ?? false),
      seq: e.seq,
      first: before && before.count > 0 ? before.first : e.seq,
    });
  }
  const out = new Map<number, ReactionSummary>();
  for (const [target, perEmoji] of state) {
    const counts = [...perEmoji.values()]
      .filter((c) => c.count > 0)
      .sort((a, b) => a.first - b.first)
      .map(({ first: _, ...c }) => c);
    out.set(target, { as_of: asOf.get(target)!, counts });
  }
  return out;
}

/**
 * Puts each message's reaction summary on it (messages without reactions are left as they are, and
 * so are deleted ones: their reactions went with them).
 */
export function withReactions(
  events: ChatEvent[],
  summaries: ReadonlyMap<number, ReactionSummary>,
): ChatEvent[] {
  if (summaries.size === 0) return events;
  return events.map((e) => {
    const reactions = e.kind === 'message' && !e.deleted ? summaries.get(e.seq) : undefined;
    return reactions ? { ...e, reactions } : e;
  });
}
