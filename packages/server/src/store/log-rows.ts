import type {
  ConversationKind,
  GroupMentionPolicy,
  NotificationLevel,
  PostingPolicy,
  Role,
} from '@natter/protocol';

/**
 * Row shapes both SQL adapters read alike: the `conversations` and `members` tables have the same
 * columns in SQLite and PostgreSQL, and both drivers return them as plain strings and numbers.
 * (`events` rows differ by driver, so each adapter keeps its own EventRow.)
 */
export interface ConversationRow {
  id: string;
  kind: ConversationKind;
  title: string | null;
  last_seq: number;
  change_pos: number;
  member_count: number;
  group_mentions: GroupMentionPolicy;
  /** Who may post: `everyone` but in a channel that reserves it for its admins. */
  posting: PostingPolicy;
  created_at: number;
  updated_at: number;
}

export interface MemberRow {
  conversation_id: string;
  user_id: string;
  role: Role;
  joined_seq: number;
  left_seq: number | null;
  left_pos: number | null;
  delivered_seq: number;
  read_seq: number;
  notifications: NotificationLevel;
  /** 1 when the former member hid the conversation (see HideOp), else 0. */
  hidden: number;
}
