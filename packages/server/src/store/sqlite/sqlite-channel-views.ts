import type Database from 'better-sqlite3';
import type { ChannelMembership } from '../log-store.js';
import type { MemberView } from '../member-view.js';

/** A channel membership row joined with its channel, and the position at which the member's view last changed. */
export type ChannelViewRow = MemberView & { view_pos: number };

/**
 * The embedded store's reads of a user's channel memberships (see channel-rules.ts). A channel
 * post writes nothing per member, so its members' views are found here, from `user_channels`
 * (one row per channel the user is or was in), not from the per-user change index the other
 * conversations use: each view's position is computed as the reader goes.
 */
export class SqliteChannelViews {
  private readonly sql;

  constructor(db: Database.Database) {
    const viewPos = 'CASE WHEN m.left_seq IS NULL THEN max(c.change_pos, uc.own_pos) ELSE m.left_pos END';
    const views = `FROM user_channels uc
      JOIN members m ON m.conversation_id = uc.conversation_id AND m.user_id = uc.user_id
      JOIN conversations c ON c.id = uc.conversation_id`;
    this.sql = {
      changed: db.prepare<[string, number, number], ChannelViewRow>(
        `SELECT c.*, m.*, ${viewPos} AS view_pos ${views}
         WHERE uc.user_id = ? AND ${viewPos} > ? ORDER BY view_pos LIMIT ?`,
      ),
      latest: db.prepare<[string], { pos: number | null }>(
        `SELECT max(${viewPos}) AS pos ${views} WHERE uc.user_id = ?`,
      ),
      current: db.prepare<[string], { conversation_id: string; joined_seq: number }>(
        `SELECT m.conversation_id, m.joined_seq FROM user_channels uc
         JOIN members m ON m.conversation_id = uc.conversation_id AND m.user_id = uc.user_id
         WHERE uc.user_id = ? AND m.left_seq IS NULL`,
      ),
    };
  }

  /** The user's channel views changed after position `after`, oldest change first. */
  changedSince(userId: string, after: number, limit: number): ChannelViewRow[] {
    return this.sql.changed.all(userId, after, limit);
  }

  /** The highest position among the user's channel views (0: none). */
  latestPosition(userId: string): number {
    return this.sql.latest.get(userId)?.pos ?? 0;
  }

  /** The channels the user is a current member of. */
  membershipsOf(userId: string): ChannelMembership[] {
    return this.sql.current
      .all(userId)
      .map((r) => ({ conversationId: r.conversation_id, joinedSeq: r.joined_seq }));
  }
}
