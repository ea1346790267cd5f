import type { AttachmentRef } from './attachments.js';
/**
 * The shapes of the things Natter stores and returns: events of a conversation's log, conversation
 * summaries, receipts and presence. Field names are the wire names (snake_case).
 */

export const EVENT_KINDS = [
  'created',
  'message',
  'edit',
  'delete',
  'member_added',
  'member_removed',
  'member_left',
  'role_changed',
  'renamed',
  'reaction',
  'pinned',
  'unpinned',
  'settings_changed',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export const ROLES = ['owner', 'admin', 'member'] as const;
export type Role = (typeof ROLES)[number];

/**
 * `channel`: a very large conversation (up to 1,000,000 members) that fans out on read: a post is
 * stored once and pushed only to members who are online; the others find it when they sync.
 * Channels have no per-member receipts, typing or presence (see docs/protocol.md, "Channels").
 */
export type ConversationKind = 'direct' | 'group' | 'channel';

/** Who may post messages in a channel: every member, or only its admins and owners (a broadcast channel). */
export const POSTING_POLICIES = ['everyone', 'admins'] as const;
export type PostingPolicy = (typeof POSTING_POLICIES)[number];

/** Which messages of a conversation should notify a member (a push service reads it). */
export const NOTIFICATION_LEVELS = ['all', 'mentions', 'none'] as const;
export type NotificationLevel = (typeof NOTIFICATION_LEVELS)[number];

/** Mentions that stand for every member of the conversation, rather than one user id. */
export const GROUP_MENTIONS = ['@all', '@here'] as const;

/** Who may use `@all` / `@here` in a group: anyone, or only its admins and owners. */
export const GROUP_MENTION_POLICIES = ['anyone', 'admins'] as const;
export type GroupMentionPolicy = (typeof GROUP_MENTION_POLICIES)[number];

/** What a reply carries of the message it answers, copied when the reply is stored. */
export interface ReplyQuote {
  /** The parent message's seq, in the same conversation. */
  seq: number;
  /** The parent's sender; null when `hidden`. */
  sender_id: string | null;
  /** The parent's text when the reply was sent, cut to QUOTE_MAX_CHARS; null once the parent is deleted or when `hidden`. */
  body: string | null;
  /** true once the parent was deleted (its text is wiped from the quote too). */
  deleted: boolean;
  /** Present (true) when the parent is from before the reader joined: neither text nor sender is shown. */
  hidden?: true;
}

/** The longest text (in characters, i.e. code points) a reply's quote keeps of its parent. */
export const QUOTE_MAX_CHARS = 200;

/** One emoji's reactions on a message, as the reader sees them. */
export interface ReactionCount {
  emoji: string;
  /** How many users reacted with it (never 0 in a read; a `reaction` event may carry 0). */
  count: number;
  /** Whether you are one of them. */
  me: boolean;
  /** The seq of the newest `reaction` event for this emoji on this message. */
  seq: number;
}

/**
 * A message's reactions folded by the server when it is read (sync, fetch, history): the state
 * after every `reaction` event up to `as_of`. Apply a later `reaction` event only if its seq is
 * above both `as_of` and the emoji's `seq`.
 */
export interface ReactionSummary {
  as_of: number;
  counts: ReactionCount[];
}

/** Where a thread reply sits: under the root message `root_seq`, numbered 1, 2, 3, ... in the thread. */
export interface ThreadPlace {
  root_seq: number;
  /** The reply's place in its thread: gap-free, in commit order, like a conversation's seq. */
  seq: number;
}

/** The most recent repliers a thread summary names. */
export const THREAD_PARTICIPANTS_SHOWN = 5;

/** A thread's state as the reader sees it, on its root message in read answers. */
export interface ThreadSummary {
  /** Replies so far (the highest thread seq: deleted replies stay as tombstones and count). */
  reply_count: number;
  /** The conversation seq of the newest reply, and when it was sent. */
  last_reply_seq: number;
  last_reply_at: number;
  /** The most recent distinct repliers, newest first (at most THREAD_PARTICIPANTS_SHOWN). */
  participants: string[];
  /** Whether you follow it: you wrote its root, replied in it, or read it. */
  following: boolean;
  /** Your thread read cursor: the thread seq you have read up to (0: none). */
  read_seq: number;
  /** Replies by others after your cursor, not deleted (0 unless you follow it). */
  unread: number;
}

/** Data carried by membership and rename events, and a message's metadata. */
export interface EventData {
  /** member_added, member_removed, member_left, role_changed: the member concerned. */
  user_id?: string;
  /** member_added, role_changed, created: the role given. */
  role?: Role;
  /** created, renamed: the title. */
  title?: string | null;
  /** created: the members the conversation started with. */
  member_ids?: string[];
  /** message: the app-defined object sent with it (wiped, like the body, when it is deleted). */
  metadata?: Record<string, unknown>;
  /** message: the files it carries, as the server recorded them at upload (wiped with the body on delete). */
  attachments?: AttachmentRef[];
  /** message: what kind of content it is; absent means `text` (the only kind so far). */
  content_type?: 'text';
  /** message: the message it answers, quoted. */
  reply_to?: ReplyQuote;
  /** message: the user ids it mentions, and `@all` / `@here`, as the sender's client named them. */
  mentions?: string[];
  /** reaction: the emoji. */
  emoji?: string;
  /** reaction: whether the sender added or removed it. */
  action?: 'add' | 'remove';
  /** reaction: how many users have this emoji on the message after this event. */
  count?: number;
  /** message: set on a reply in a thread. */
  thread?: ThreadPlace;
  /** settings_changed: who may mention `@all` / `@here` from now on. */
  group_mentions?: GroupMentionPolicy;
  /** settings_changed, and created of a channel: who may post in the channel from now on. */
  posting?: PostingPolicy;
}

/**
 * One entry of a conversation's log. `(conversation_id, seq)` identifies it; `seq` runs 1, 2, 3, ...
 * without gaps in commit order. `created_at` is the server's clock (ms since the epoch) and is for
 * display only, never for ordering.
 */
export interface ChatEvent {
  conversation_id: string;
  seq: number;
  kind: EventKind;
  sender_id: string;
  /** The device the sender named in its auth frame, if any. */
  device_id: string | null;
  /** The sender's idempotency key (message, edit, delete); null for events the server makes. */
  client_msg_id: string | null;
  /** message, edit: the text. Null when the message was deleted, and for other kinds. */
  body: string | null;
  /** edit, delete: the seq of the message this event supersedes; reaction, pinned, unpinned: the message concerned. */
  ref_seq: number | null;
  data: EventData | null;
  /** true on a message (or edit) whose content was deleted by a later `delete` event. */
  deleted: boolean;
  created_at: number;
  /**
   * message, in read answers (sync, fetch, history) only: its reactions as of the read. Absent on
   * live `event` pushes, where a new message has none yet.
   */
  reactions?: ReactionSummary;
  /** message, in read answers only: the thread under it, when it has replies. */
  thread?: ThreadSummary;
}

/** How a user sees one conversation: what they need to render a conversation list. */
export interface ConversationSummary {
  conversation_id: string;
  kind: ConversationKind;
  title: string | null;
  /** direct only: the other participant (equal to your own id in a conversation with yourself). */
  peer_id: string | null;
  role: Role;
  member_count: number;
  /** The newest seq you can see (for a former member: the seq of the event that removed you). */
  last_seq: number;
  /** The first seq you can see: history before you joined stays hidden. */
  joined_seq: number;
  /** Set when you are no longer a member: the seq of your removal (or leaving). */
  left_seq: number | null;
  /** Your cursors ("up to seq N"): they only move forward. */
  read_seq: number;
  delivered_seq: number;
  /** Messages from others after your read cursor (capped at 9999). */
  unread: number;
  /** Of those, the ones that mention you (by id, or `@all` / `@here`), capped alike. */
  mentions: number;
  /** Pinned messages' seqs, most recently pinned first (at most MAX_PINS; [] once you have left). */
  pinned: number[];
  /** Your notification level for this conversation (see `set_notifications`). */
  notifications: NotificationLevel;
  /** group: who may mention `@all` / `@here` (admins and owners set it); always `anyone` in a direct one. */
  group_mentions: GroupMentionPolicy;
  /** channel: who may post (admins and owners always may); always `everyone` in a direct or group one. */
  posting: PostingPolicy;
  /** Unread replies in the threads you follow here (by others, after your thread cursors; capped alike). */
  thread_unread: number;
  /**
   * The lowest read / delivered cursor among the other current members: "everyone has read up to".
   * A channel has no per-member receipts: there both are your own cursors.
   */
  peers_read_seq: number;
  peers_delivered_seq: number;
  /** The newest message (kind `message`) you can see, for the list preview. */
  last_message: ChatEvent | null;
  created_at: number;
  /** Server time of the newest event you can see (ms): order conversation lists by it. */
  updated_at: number;
}

/**
 * Whether you may post messages in this conversation: everywhere, except a channel whose `posting`
 * is `admins` when your role is `member` (the server refuses it with `posting_restricted`).
 */
export function mayPost(summary: Pick<ConversationSummary, 'kind' | 'posting' | 'role'>): boolean {
  return summary.kind !== 'channel' || summary.posting === 'everyone' || summary.role !== 'member';
}

export interface MemberInfo {
  user_id: string;
  role: Role;
  joined_seq: number;
  delivered_seq: number;
  read_seq: number;
}

export interface PresenceState {
  user_id: string;
  online: boolean;
  /** ms since the epoch of the last heartbeat seen; null if never seen. */
  last_seen: number | null;
}

/** What others may know of a user: for showing names. JWT users have no username. */
export interface UserProfile {
  user_id: string;
  username: string | null;
  display_name: string | null;
  /**
   * The version of the user's avatar (it changes whenever the image does), or null when they have
   * none: fetch the image from `GET /v1/users/{user_id}/avatar`.
   */
  avatar: string | null;
  /** Present (true) only for a bot: an automated sender a product's backend created. */
  bot?: true;
}

/** One answer of a user search: a profile, and whether the user shares a conversation with you. */
export interface FoundUser extends UserProfile {
  contact: boolean;
}
