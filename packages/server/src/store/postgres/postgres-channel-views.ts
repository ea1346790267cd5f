import type { ChannelMembership } from '../log-store.js';
import type { MemberView } from '../member-view.js';
import type { Queryable } from './postgres-connection.js';

/** A channel membership row joined with its channel, and the position at which the member's view last changed. */
export type ChannelViewRow = MemberView & { view_pos: number };

/**
 * The user's channel views changed after position `after`, oldest change first. A channel post
 * stamps nothing per member (see channel-rules.ts), so these come from `user_channels` (one row per
 * channel the user is or was in: a few) and each channel's change_pos, not from user_conversations.
 */
export function changedChannelViews(sql: Queryable, userId: string, after: number, limit: number) {
  return sql<ChannelViewRow[]>`
    SELECT * FROM (
      SELECT c.*, m.*, CASE WHEN m.left_seq IS NULL THEN greatest(c.change_pos, uc.own_pos) ELSE m.left_pos END AS view_pos
      FROM user_channels uc
      JOIN members m ON m.conversation_id = uc.conversation_id AND m.user_id = uc.user_id
      JOIN conversations c ON c.id = uc.conversation_id
      WHERE uc.user_id = ${userId}) v
    WHERE v.view_pos > ${after} ORDER BY v.view_pos LIMIT ${limit}`;
}

/** The highest position among the user's channel views (0: none). */
export async function latestChannelPosition(sql: Queryable, userId: string): Promise<number> {
  const [row] = await sql<{ pos: number | null }[]>`
    SELECT max(CASE WHEN m.left_seq IS NULL THEN greatest(c.change_pos, uc.own_pos) ELSE m.left_pos END) AS pos
    FROM user_channels uc
    JOIN members m ON m.conversation_id = uc.conversation_id AND m.user_id = uc.user_id
    JOIN conversations c ON c.id = uc.conversation_id
    WHERE uc.user_id = ${userId}`;
  return row?.pos ?? 0;
}

/** The channels the user is a current member of. */
export async function channelMemberships(sql: Queryable, userId: string): Promise<ChannelMembership[]> {
  const rows = await sql<{ conversation_id: string; joined_seq: number }[]>`
    SELECT m.conversation_id, m.joined_seq FROM user_channels uc
    JOIN members m ON m.conversation_id = uc.conversation_id AND m.user_id = uc.user_id
    WHERE uc.user_id = ${userId} AND m.left_seq IS NULL`;
  return rows.map((r) => ({ conversationId: r.conversation_id, joinedSeq: r.joined_seq }));
}
