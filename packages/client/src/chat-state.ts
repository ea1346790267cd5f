import {
  type AttachmentRef,
  type ChatEvent,
  type ConversationSummary,
  type ErrorCode,
  type EventKind,
  type GroupMentionPolicy,
  type MemberInfo,
  type PostingPolicy,
  type PresenceState,
  type ReactionCount,
  type ReceiptUpdateFrame,
  type ReplyQuote,
  type Role,
  THREAD_PARTICIPANTS_SHOWN,
  type ThreadReceiptFrame,
  type ThreadSummary,
  type TypingUpdateFrame,
} from '@natter/protocol/core';
import { Emitter } from './emitter.js';
import { MemberCursors, type MemberReceipt, type MemberView } from './member-cursors.js';
import type { NatterClient } from './natter-client.js';
import type { OutboxEntry } from './outbox.js';
import { ReactionBook } from './reaction-book.js';
import { ViewCache } from './view-cache.js';

export interface ChatStateOptions {
  /**
   * Fetches a group's current members with their cursors, e.g.
   * `async (id) => (await http.conversation(id)).members`. Called the first time the app reads a
   * group (`messages`, `membersOf`, `receiptsOf`), so the cost follows the groups opened rather
   * than all of them; then again for such a group when its summary comes with a resume after a
   * reconnect (receipts may have been missed meanwhile) or shows a member or receipt we missed.
   * Without it, groups' ticks follow the summary's "everyone has read up to", and per-member
   * receipts are known only for groups followed from their creation.
   */
  members?: (conversationId: string) => Promise<MemberInfo[]>;
}

/** sending/failed: still in the outbox; sent: stored; delivered/read: by every other member. */
export type MessageStatus = 'sending' | 'sent' | 'delivered' | 'read' | 'failed';

export interface MessageView {
  conversationId: string;
  /** null while the message is still in the outbox. */
  seq: number | null;
  clientMsgId: string | null;
  senderId: string;
  /** The latest text (edits applied); null once deleted. */
  body: string | null;
  /** The app's metadata object sent with the message (null if none, or once deleted). */
  metadata: Record<string, unknown> | null;
  /** The files it carries (protocol §11.7); [] if none, or once deleted. */
  attachments: AttachmentRef[];
  /** The message this answers, quoted (its text null once that message is deleted). */
  replyTo: ReplyQuote | null;
  /** User ids and `@all` / `@here` it mentions. */
  mentions: string[];
  /** It mentions you (by id, `@all` or `@here`) and someone else sent it. */
  mentionsMe: boolean;
  /** Emoji with at least one reaction, in the order first added. */
  reactions: ReactionCount[];
  /** It is pinned in its conversation. */
  pinned: boolean;
  /** A root: the thread under it (null while it has no replies known). */
  thread: ThreadSummary | null;
  /** A reply in a thread: the root's seq, and its own seq in the thread (null while pending). */
  threadRoot: number | null;
  threadSeq: number | null;
  edited: boolean;
  deleted: boolean;
  createdAt: number;
  /** For your own messages; others' messages are always `sent`. */
  status: MessageStatus;
  /** Why the server refused it (status `failed`: retry or discard it with the client), else null. */
  error: { code: ErrorCode; message: string } | null;
}

/** Log events that change the conversation rather than say something: shown as lines in the timeline. */
export type NoticeKind = Extract<
  EventKind,
  | 'created'
  | 'member_added'
  | 'member_removed'
  | 'member_left'
  | 'role_changed'
  | 'renamed'
  | 'pinned'
  | 'unpinned'
  | 'settings_changed'
>;

const NOTICE_KINDS: ReadonlySet<EventKind> = new Set<NoticeKind>([
  'created',
  'member_added',
  'member_removed',
  'member_left',
  'role_changed',
  'renamed',
  'pinned',
  'unpinned',
  'settings_changed',
]);

/** Fields a saved summary from an older version may lack. */
const RESTORED_DEFAULTS: Pick<
  ConversationSummary,
  'mentions' | 'pinned' | 'notifications' | 'thread_unread' | 'group_mentions' | 'posting'
> = {
  mentions: 0,
  pinned: [],
  notifications: 'all',
  thread_unread: 0,
  group_mentions: 'anyone',
  posting: 'everyone',
};

/** "Alice added Bob", "Bob left", "Alice renamed the group": one membership or title event. */
export interface NoticeView {
  conversationId: string;
  seq: number;
  kind: NoticeKind;
  /** Who did it: the creator, the one who added, removed, promoted or renamed; the leaver. */
  actorId: string;
  /** Whom it is about (added, removed, left, role changed); null for created and renamed. */
  userId: string | null;
  /** member_added, role_changed: the role given. */
  role: Role | null;
  /** created, renamed: the title. */
  title: string | null;
  /** created: the members the conversation started with. */
  memberIds: string[];
  /** pinned, unpinned: the message concerned. */
  refSeq: number | null;
  /** settings_changed: who may mention `@all` / `@here` from then on. */
  groupMentions: GroupMentionPolicy | null;
  /** settings_changed (a channel): who may post from then on. */
  posting: PostingPolicy | null;
  createdAt: number;
}

/** What a conversation's timeline shows, in seq order: messages and notices. */
export type TimelineItem = { type: 'message'; message: MessageView } | { type: 'notice'; notice: NoticeView };

interface ConversationData {
  summary: ConversationSummary;
  /** Stored messages by seq; replaced, never modified, when an edit or a deletion changes one. */
  messages: Map<number, MessageView>;
  /** The view handed out per stored message, with the stored message it was built from. */
  views: Map<number, { from: MessageView; view: MessageView }>;
  notices: Map<number, NoticeView>;
  reactions: ReactionBook;
  /** Thread summaries by root seq: from reads, kept up by replies and thread receipts. */
  threads: Map<number, ThreadSummary>;
  typing: Map<string, ReturnType<typeof setTimeout>>;
  members: MemberCursors;
  /** 'idle' until the first member list fetch; 'again' when another is due once this one ends. */
  membersFetch: 'idle' | 'running' | 'again' | 'done';
}

/**
 * The client's events folded into what an app renders: conversations by last activity with unread
 * counts, messages with edits and deletions applied and your own pending ones at the end, tick
 * status, who is typing, and presence. `change` names the conversation that changed ('' for
 * presence, which is not tied to one).
 *
 * Messages are those seen since the client started (live, resumed or loaded with `history`);
 * older ones are loaded page by page with `loadOlder`.
 *
 * What it hands out is immutable and kept until it changes: `conversations()` returns the same
 * array until `listVersion` moves; `messages(id)`, `timeline(id)`, `threadReplies(id, root)`,
 * `pinnedMessages(id)` and `typingIn(id)` the same array until `versionOf(id)` moves (a change in
 * another conversation leaves them as they are), and a message that looks as it did keeps its
 * object. An app can select what it shows and re-render only when that is no longer `===`.
 */
export class ChatState extends Emitter<{ change: (conversationId: string) => void }> {
  private readonly data = new Map<string, ConversationData>();
  private readonly pending = new Map<string, OutboxEntry>();
  private readonly presence = new Map<string, PresenceState>();
  /** Events of conversations whose summary has not arrived yet (you were just added). */
  private readonly early = new Map<string, ChatEvent[]>();
  private readonly unsubscribe: Array<() => void>;
  private closed = false;
  private readonly views = new ViewCache();
  /** The summaries `conversations()` last listed, to tell whether a change moved the list. */
  private readonly listed = new Map<string, ConversationSummary>();
  private listChanges = 0;
  private presenceChanges = 0;
  private list: { version: number; summaries: ConversationSummary[] } | undefined;

  constructor(
    private readonly client: NatterClient,
    private readonly options: ChatStateOptions = {},
  ) {
    super();
    this.unsubscribe = [
      client.on('conversation', (summary) => this.onSummary(summary)),
      client.on('event', (event) => this.onEvent(event)),
      client.on('outbox', (entry) => this.onOutbox(entry)),
      client.on('receipt', (receipt) => this.onReceipt(receipt)),
      client.on('threadReceipt', (receipt) => this.onThreadReceipt(receipt)),
      client.on('hidden', (conversationId) => this.onHidden(conversationId)),
      client.on('typing', (typing) => this.onTyping(typing)),
      client.on('presence', ({ type: _, ...state }) => {
        this.presence.set(state.user_id, state);
        this.changed('');
      }),
    ];
  }

  /** Stops following the client and clears the typing timers (the client itself stays as it is). */
  close(): void {
    this.closed = true;
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    for (const data of this.data.values()) {
      for (const timer of data.typing.values()) clearTimeout(timer);
      data.typing.clear();
    }
  }

  /** The current members and their cursors; undefined while not known (see `ChatStateOptions`). */
  membersOf(conversationId: string): MemberView[] | undefined {
    const data = this.data.get(conversationId);
    if (data) this.wantMembers(data);
    return data?.members.list();
  }

  /**
   * Who has got and read the message at `seq` ("read by Bob, Carol"): every current member who
   * can see it (joined at or before it), except you and the message's sender. Undefined while the
   * members are not known.
   */
  receiptsOf(conversationId: string, seq: number): MemberReceipt[] | undefined {
    const data = this.data.get(conversationId);
    if (!data) return undefined;
    this.wantMembers(data);
    const sender = data.messages.get(seq)?.senderId;
    return data.members.receiptsOf(seq, new Set([this.client.me, ...(sender ? [sender] : [])]));
  }

  /** Grows by one at every change in the conversation (its messages, notices, typing, summary). */
  versionOf(conversationId: string): number {
    return this.views.versionOf(conversationId);
  }

  /** Grows by one whenever a conversation's summary changes (what `conversations()` lists). */
  get listVersion(): number {
    return this.listChanges;
  }

  /** Grows by one at every presence update (what `presenceOf` answers). */
  get presenceVersion(): number {
    return this.presenceChanges;
  }

  /** Online and last-seen of a user you watch (`client.watchPresence`), if known. */
  presenceOf(userId: string): PresenceState | undefined {
    return this.presence.get(userId);
  }

  /** Conversations, most recently active first. */
  conversations(): ConversationSummary[] {
    if (this.list?.version !== this.listChanges) {
      const summaries = [...this.data.values()].map((d) => d.summary);
      this.list = {
        version: this.listChanges,
        summaries: summaries.sort((a, b) => b.updated_at - a.updated_at),
      };
    }
    return this.list.summaries;
  }

  conversation(conversationId: string): ConversationSummary | undefined {
    return this.data.get(conversationId)?.summary;
  }

  /** Stored messages in seq order, then your messages still in the outbox. */
  messages(conversationId: string): MessageView[] {
    const data = this.data.get(conversationId);
    if (data) this.wantMembers(data);
    return this.views.get(conversationId, 'messages', () => this.buildMessages(conversationId));
  }

  private buildMessages(conversationId: string): MessageView[] {
    const data = this.data.get(conversationId);
    const stored = data
      ? [...data.messages.values()].filter((m) => m.threadRoot === null).sort((a, b) => a.seq! - b.seq!)
      : [];
    const mine = [...this.pending.values()]
      .filter((e) => e.conversationId === conversationId && e.threadRoot === undefined)
      .sort((a, b) => a.createdAt - b.createdAt)
      .map((e) => this.views.stable(this.pendingView(e)));
    return [...stored.map((m) => this.view(m, data!)), ...mine];
  }

  /**
   * The replies held in the thread under `rootSeq`, in thread order, then yours still in the
   * outbox. Load them with `loadThread`; new ones arrive live.
   */
  threadReplies(conversationId: string, rootSeq: number): MessageView[] {
    return this.views.get(conversationId, `thread ${rootSeq}`, () =>
      this.buildReplies(conversationId, rootSeq),
    );
  }

  private buildReplies(conversationId: string, rootSeq: number): MessageView[] {
    const data = this.data.get(conversationId);
    const stored = data
      ? [...data.messages.values()]
          .filter((m) => m.threadRoot === rootSeq)
          .sort((a, b) => a.threadSeq! - b.threadSeq!)
      : [];
    const mine = [...this.pending.values()]
      .filter((e) => e.conversationId === conversationId && e.threadRoot === rootSeq)
      .sort((a, b) => a.createdAt - b.createdAt)
      .map((e) => this.views.stable(this.pendingView(e)));
    return [...stored.map((m) => this.view(m, data!)), ...mine];
  }

  /** The thread under `rootSeq` as known (null while it has no replies known). */
  thread(conversationId: string, rootSeq: number): ThreadSummary | null {
    return this.data.get(conversationId)?.threads.get(rootSeq) ?? null;
  }

  /** Loads the page of the thread before its oldest reply held. True if older replies remain. */
  async loadThread(conversationId: string, rootSeq: number, limit = 50): Promise<boolean> {
    const held = this.threadReplies(conversationId, rootSeq).flatMap((m) =>
      m.threadSeq === null ? [] : [m.threadSeq],
    );
    const oldest = held.length > 0 ? Math.min(...held) : undefined;
    const page = await this.client.threadHistory(conversationId, rootSeq, oldest, limit);
    for (const event of page.events) this.fold(event, false);
    this.changed(conversationId);
    return page.has_more;
  }

  /** Marks the thread under `rootSeq` read up to its newest reply (you follow it from then). */
  markThreadRead(conversationId: string, rootSeq: number): void {
    const thread = this.thread(conversationId, rootSeq);
    if (!thread || (thread.following && thread.read_seq >= thread.reply_count)) return;
    this.client.markThreadRead(conversationId, rootSeq, thread.reply_count);
  }

  /** One stored message as `messages` shows it, if held. */
  message(conversationId: string, seq: number): MessageView | undefined {
    const data = this.data.get(conversationId);
    const message = data?.messages.get(seq);
    return data && message ? this.view(message, data) : undefined;
  }

  /** The pinned messages held, most recently pinned first (the summary's `pinned` names them all). */
  pinnedMessages(conversationId: string): MessageView[] {
    return this.views.get(conversationId, 'pinned', () => {
      const pinned = this.data.get(conversationId)?.summary.pinned ?? [];
      return pinned.flatMap((seq) => this.message(conversationId, seq) ?? []);
    });
  }

  /** Adds your reaction `emoji` to the message, or removes it if it is there (connection needed). */
  async toggleReaction(conversationId: string, seq: number, emoji: string): Promise<void> {
    const mine = this.data.get(conversationId)?.reactions.mine(seq, emoji) ?? false;
    await this.client.react(conversationId, seq, emoji, mine ? 'remove' : 'add');
  }

  /**
   * The timeline: messages and notices (membership and title changes) in seq order, then your
   * messages still in the outbox.
   */
  timeline(conversationId: string): TimelineItem[] {
    const messages = this.messages(conversationId);
    return this.views.get(conversationId, 'timeline', () => this.buildTimeline(conversationId, messages));
  }

  private buildTimeline(conversationId: string, messages: MessageView[]): TimelineItem[] {
    const notices = [...(this.data.get(conversationId)?.notices.values() ?? [])].sort(
      (a, b) => a.seq - b.seq,
    );
    const items: TimelineItem[] = [];
    let next = 0;
    for (const message of messages) {
      // Pending messages (seq null) come after everything stored.
      while (next < notices.length && (message.seq === null || notices[next]!.seq < message.seq))
        items.push({ type: 'notice', notice: notices[next++]! });
      items.push({ type: 'message', message });
    }
    for (; next < notices.length; next++) items.push({ type: 'notice', notice: notices[next]! });
    return items;
  }

  typingIn(conversationId: string): string[] {
    return this.views.get(conversationId, 'typing', () => [
      ...(this.data.get(conversationId)?.typing.keys() ?? []),
    ]);
  }

  /** Loads the page of history before the oldest message held (scrolling up). True if more remain. */
  async loadOlder(conversationId: string, limit = 50): Promise<boolean> {
    const data = this.data.get(conversationId);
    const held = [...(data?.messages.keys() ?? []), ...(data?.notices.keys() ?? [])];
    const oldest = held.length > 0 ? Math.min(...held) : undefined;
    const page = await this.client.history(conversationId, oldest, limit);
    for (const event of page.events) this.fold(event, false);
    this.changed(conversationId);
    return page.has_more;
  }

  /** Marks the conversation read up to its newest message. */
  markRead(conversationId: string): void {
    const data = this.data.get(conversationId);
    if (!data || data.summary.read_seq >= data.summary.last_seq) return;
    this.client.markRead(conversationId, data.summary.last_seq);
  }

  /**
   * Shows these summaries (saved by the app from an earlier session) until the server's arrive, so
   * an app that starts offline still lists its conversations. Conversations already known are kept.
   */
  restore(summaries: ConversationSummary[]): void {
    for (const summary of summaries) {
      const id = summary.conversation_id;
      if (this.data.has(id)) continue;
      // Only the summary: member cursors wait for the server's, which know who "me" is. A summary
      // saved by an older version lacks the newer fields: they start empty until the server's.
      this.data.set(id, this.emptyData({ ...RESTORED_DEFAULTS, ...summary }));
      this.changed(id);
    }
  }

  private emptyData(summary: ConversationSummary): ConversationData {
    return {
      summary,
      messages: new Map(),
      views: new Map(),
      notices: new Map(),
      reactions: new ReactionBook(this.client.me),
      threads: new Map(),
      typing: new Map(),
      members: new MemberCursors(),
      membersFetch: 'idle',
    };
  }

  private onSummary(summary: ConversationSummary): void {
    const id = summary.conversation_id;
    let data = this.data.get(id);
    if (!data) {
      data = this.emptyData(summary);
      this.data.set(id, data);
    }
    data.summary = summary;
    // A resume after a reconnect may have missed receipts: only the member list tells them apart.
    const stale = this.client.state === 'syncing' || data.members.lagsBehind(summary, this.client.me);
    data.members.applySummary(summary, this.client.me);
    if (data.membersFetch !== 'idle' && summary.left_seq === null && stale) this.fetchMembers(data);
    for (const event of this.early.get(id) ?? []) this.foldStream(data, event, false);
    this.early.delete(id);
    this.changed(id);
  }

  /** A hidden conversation leaves the list; if you are added again, its summary brings it back. */
  private onHidden(conversationId: string): void {
    if (!this.data.delete(conversationId)) return;
    this.early.delete(conversationId);
    this.listed.delete(conversationId);
    this.listChanges += 1;
    this.changed(conversationId);
  }

  private onEvent(event: ChatEvent): void {
    const data = this.data.get(event.conversation_id);
    if (data) this.foldStream(data, event, true);
    else this.fold(event, true);
    this.changed(event.conversation_id);
  }

  /** An event of the client's ordered stream: it also moves the member set and cursors. */
  private foldStream(data: ConversationData, event: ChatEvent, live: boolean): void {
    this.fold(event, live);
    data.members.fold(event);
    this.refreshPeers(data);
  }

  /** The first read of a group fetches its members (see `ChatStateOptions.members`). */
  private wantMembers(data: ConversationData): void {
    if (data.membersFetch === 'idle' && data.summary.kind !== 'direct' && data.summary.left_seq === null)
      this.fetchMembers(data);
  }

  /** One member list fetch at a time per conversation; a request during one runs after it. */
  private fetchMembers(data: ConversationData): void {
    const load = this.options.members;
    if (!load || this.closed) return;
    if (data.membersFetch === 'running' || data.membersFetch === 'again') {
      data.membersFetch = 'again';
      return;
    }
    data.membersFetch = 'running';
    data.members.fetchStarted();
    const id = data.summary.conversation_id;
    load(id).then(
      (list) => {
        data.members.fetched(list);
        this.refreshPeers(data);
        this.settleFetch(data);
        if (!this.closed) this.changed(id);
      },
      () => {
        // Tried again at the next trigger (a reconnect, or a summary showing we are behind).
        data.members.fetchFailed();
        this.settleFetch(data);
      },
    );
  }

  private settleFetch(data: ConversationData): void {
    const again = data.membersFetch === 'again';
    data.membersFetch = 'done';
    if (again) this.fetchMembers(data);
  }

  /** Keeps the summary's "everyone has got / read up to" moving with the members' receipts. */
  private refreshPeers(data: ConversationData): void {
    // A channel has no receipts for others: its peers' cursors are your own (the server's agree).
    if (!data.members.known || data.summary.left_seq !== null || data.summary.kind === 'channel') return;
    const peers = data.members.peers(this.client.me);
    const { peers_delivered_seq: delivered, peers_read_seq: read } = data.summary;
    if (peers.delivered <= delivered && peers.read <= read) return;
    data.summary = {
      ...data.summary,
      peers_delivered_seq: Math.max(delivered, peers.delivered),
      peers_read_seq: Math.max(read, peers.read),
    };
  }

  /** Applies one event; `live` ones also advance the summary (last message, unread). */
  private fold(event: ChatEvent, live: boolean): void {
    const data = this.data.get(event.conversation_id);
    if (!data) {
      // The summary follows on the next sync (the heartbeat token has moved): keep the event till then.
      const waiting = this.early.get(event.conversation_id) ?? [];
      waiting.push(event);
      this.early.set(event.conversation_id, waiting);
      return;
    }
    if (event.kind === 'message') {
      data.messages.set(event.seq, {
        conversationId: event.conversation_id,
        seq: event.seq,
        clientMsgId: event.client_msg_id,
        senderId: event.sender_id,
        body: event.body,
        metadata: event.data?.metadata ?? null,
        attachments: event.data?.attachments ?? [],
        replyTo: event.data?.reply_to ?? null,
        mentions: event.data?.mentions ?? [],
        mentionsMe: this.mentionsMe(event),
        reactions: [],
        pinned: false,
        thread: null,
        threadRoot: event.data?.thread?.root_seq ?? null,
        threadSeq: event.data?.thread?.seq ?? null,
        edited: false,
        deleted: event.deleted,
        createdAt: event.created_at,
        status: 'sent',
        error: null,
      });
      if (event.reactions) data.reactions.merge(event.seq, event.reactions);
      if (event.thread) this.mergeThread(data, event.seq, event.thread);
      if (event.data?.thread) this.foldReply(data, event, live);
      if (event.client_msg_id) this.pending.delete(event.client_msg_id);
    } else if (NOTICE_KINDS.has(event.kind)) {
      data.notices.set(event.seq, noticeOf(event));
    } else if (event.kind === 'reaction') {
      data.reactions.apply(event);
    } else if ((event.kind === 'edit' || event.kind === 'delete') && event.ref_seq !== null) {
      const target = data.messages.get(event.ref_seq);
      if (target && event.kind === 'edit' && !target.deleted)
        data.messages.set(event.ref_seq, { ...target, body: event.body, edited: true });
      if (event.kind === 'delete') {
        if (target)
          data.messages.set(event.ref_seq, {
            ...target,
            body: null,
            metadata: null,
            attachments: [],
            deleted: true,
          });
        data.reactions.forget(event.ref_seq);
        // Quotes of it lose its text too (a read returns them wiped already).
        for (const [seq, reply] of data.messages) {
          if (reply.replyTo?.seq === event.ref_seq)
            data.messages.set(seq, { ...reply, replyTo: { ...reply.replyTo, body: null, deleted: true } });
        }
      }
      // The list preview shows the newest message as it is now, not as it was first sent.
      const last = data.summary.last_message;
      if (last && last.seq === event.ref_seq) {
        const edited = event.kind === 'edit' && !last.deleted;
        data.summary = {
          ...data.summary,
          last_message: {
            ...last,
            body: event.kind === 'delete' ? null : edited ? event.body : last.body,
            deleted: last.deleted || event.kind === 'delete',
          },
        };
      }
    }
    if (!live || event.seq <= data.summary.last_seq) return;
    const summary = { ...data.summary, last_seq: event.seq };
    // A reaction does not lift its conversation in the list (the server's updated_at agrees).
    if (event.kind !== 'reaction') summary.updated_at = event.created_at;
    if (event.kind === 'message' && event.data?.thread) {
      // A thread's replies count in the thread, not the conversation; mentions count anywhere.
      if (this.mentionsMe(event)) summary.mentions += 1;
    } else if (event.kind === 'message') {
      summary.last_message = event;
      if (event.sender_id === this.client.me) {
        summary.read_seq = event.seq;
        summary.unread = 0;
        summary.mentions = 0;
      } else {
        summary.unread += 1;
        if (this.mentionsMe(event)) summary.mentions += 1;
      }
    }
    // A pin of a message from before you joined is not yours to list (the server's summary agrees).
    if (
      event.ref_seq !== null &&
      event.ref_seq >= summary.joined_seq &&
      (event.kind === 'pinned' || event.kind === 'unpinned' || event.kind === 'delete')
    ) {
      const others = summary.pinned.filter((seq) => seq !== event.ref_seq);
      summary.pinned = event.kind === 'pinned' ? [event.ref_seq, ...others] : others;
    }
    if (event.kind === 'settings_changed' && event.data?.posting) summary.posting = event.data.posting;
    if (event.kind === 'settings_changed' && event.data?.group_mentions) {
      summary.group_mentions = event.data.group_mentions;
    }
    this.foldMembership(summary, event);
    if (event.kind === 'delete' && event.ref_seq !== null && event.ref_seq > summary.read_seq) {
      // A deleted message stops counting as unread (and as a mention) on the server too.
      const target = data.messages.get(event.ref_seq);
      if (target?.mentionsMe) summary.mentions = Math.max(0, summary.mentions - 1);
      if (target && target.senderId !== this.client.me && target.threadRoot === null)
        summary.unread = Math.max(0, summary.unread - 1);
    }
    data.summary = summary;
  }

  /**
   * Membership and title events change the summary at once (the server's next summary agrees):
   * the member count, the title, and your role. Your own removal or leaving is left to the
   * summary that follows it (it freezes the conversation as it was).
   */
  private foldMembership(summary: ConversationSummary, event: ChatEvent): void {
    const userId = event.data?.user_id;
    if (event.kind === 'renamed') summary.title = event.data?.title ?? null;
    else if (event.kind === 'member_added') summary.member_count += 1;
    else if ((event.kind === 'member_removed' || event.kind === 'member_left') && userId !== this.client.me)
      summary.member_count = Math.max(0, summary.member_count - 1);
    else if (event.kind === 'role_changed' && userId === this.client.me && event.data?.role)
      summary.role = event.data.role;
  }

  private onOutbox(entry: OutboxEntry): void {
    if (entry.state === 'sent' || entry.state === 'discarded') {
      this.pending.delete(entry.clientMsgId);
      this.views.forget(entry.conversationId, entry.clientMsgId);
    } else this.pending.set(entry.clientMsgId, entry);
    this.changed(entry.conversationId);
  }

  private onReceipt(receipt: ReceiptUpdateFrame): void {
    const data = this.data.get(receipt.conversation_id);
    if (!data) return;
    data.members.advance(receipt.user_id, receipt.delivered_seq, receipt.read_seq);
    const summary = { ...data.summary };
    if (receipt.user_id === this.client.me) {
      summary.read_seq = Math.max(summary.read_seq, receipt.read_seq);
      summary.delivered_seq = Math.max(summary.delivered_seq, receipt.delivered_seq);
      if (summary.read_seq >= summary.last_seq) {
        summary.unread = 0;
        summary.mentions = 0;
      } else {
        const unreadHeld = [...data.messages.values()].filter(
          (m) => m.seq! > summary.read_seq && m.senderId !== this.client.me && !m.deleted,
        );
        summary.unread = Math.min(summary.unread, unreadHeld.filter((m) => m.threadRoot === null).length);
        summary.mentions = Math.min(summary.mentions, unreadHeld.filter((m) => m.mentionsMe).length);
      }
    }
    data.summary = summary;
    this.refreshPeers(data);
    this.changed(receipt.conversation_id);
  }

  private onThreadReceipt(frame: ThreadReceiptFrame): void {
    const data = this.data.get(frame.conversation_id);
    const known = data?.threads.get(frame.root_seq);
    if (!data || !known || frame.read_seq < known.read_seq) return;
    const before = known.following ? known.unread : 0;
    data.threads.set(frame.root_seq, {
      ...known,
      following: true,
      read_seq: frame.read_seq,
      unread: frame.unread,
    });
    const threadUnread = Math.max(0, data.summary.thread_unread - (before - frame.unread));
    data.summary = { ...data.summary, thread_unread: threadUnread };
    this.changed(frame.conversation_id);
  }

  /** A read's summary of the thread under a root: newer than what is known, it replaces it. */
  private mergeThread(data: ConversationData, rootSeq: number, summary: ThreadSummary): void {
    const known = data.threads.get(rootSeq);
    const newer =
      !known ||
      summary.reply_count > known.reply_count ||
      (summary.reply_count === known.reply_count && summary.read_seq >= known.read_seq);
    if (newer) data.threads.set(rootSeq, summary);
  }

  /**
   * A reply moves its thread's summary once: only a reply beyond the known count is new (replies
   * loaded with a thread page are already counted in their root's summary).
   */
  private foldReply(data: ConversationData, event: ChatEvent, live: boolean): void {
    const place = event.data!.thread!;
    const known = data.threads.get(place.root_seq);
    if (known && place.seq <= known.reply_count) return;
    const mine = event.sender_id === this.client.me;
    // Only an event past the summary's last_seq is news to thread_unread: a read's summary (a sync
    // page's, say) already counts the events that come with it.
    const news = live && event.seq > data.summary.last_seq;
    const rootIsMine = data.messages.get(place.root_seq)?.senderId === this.client.me;
    const following = mine || (known?.following ?? rootIsMine);
    const participants = [
      event.sender_id,
      ...(known?.participants ?? []).filter((p) => p !== event.sender_id),
    ];
    const unreadBefore = known?.following ? known.unread : 0;
    const unread = mine ? 0 : following ? unreadBefore + 1 : 0;
    data.threads.set(place.root_seq, {
      reply_count: place.seq,
      last_reply_seq: event.seq,
      last_reply_at: event.created_at,
      participants: participants.slice(0, THREAD_PARTICIPANTS_SHOWN),
      following,
      read_seq: mine ? place.seq : (known?.read_seq ?? 0),
      unread,
    });
    if (news) {
      const threadUnread = Math.max(0, data.summary.thread_unread + unread - unreadBefore);
      data.summary = { ...data.summary, thread_unread: threadUnread };
    }
  }

  private onTyping(frame: TypingUpdateFrame): void {
    const data = this.data.get(frame.conversation_id);
    if (!data) return;
    clearTimeout(data.typing.get(frame.user_id));
    if (frame.state === 'start') {
      data.typing.set(
        frame.user_id,
        setTimeout(() => {
          data.typing.delete(frame.user_id);
          this.changed(frame.conversation_id);
        }, frame.ttl_ms),
      );
    } else {
      data.typing.delete(frame.user_id);
    }
    this.changed(frame.conversation_id);
  }

  /**
   * Something in a conversation changed ('' for presence): what was handed out for it is built
   * anew when next asked for, and `change` tells the app.
   */
  private changed(conversationId: string): void {
    if (conversationId === '') {
      this.presenceChanges += 1;
    } else {
      this.views.bump(conversationId);
      const summary = this.data.get(conversationId)?.summary;
      if (summary && summary !== this.listed.get(conversationId)) {
        this.listed.set(conversationId, summary);
        this.listChanges += 1;
      }
    }
    this.emit('change', conversationId);
  }

  /**
   * A stored message as handed out, with what is folded beside it (its reactions, whether it is
   * pinned, its thread, its ticks): the same object as before while none of that changed, so the
   * cost of a change is a few comparisons per message, not a new object for each.
   */
  private view(message: MessageView, data: ConversationData): MessageView {
    const seq = message.seq!;
    const reactions = data.reactions.of(seq);
    const pinned = data.summary.pinned.includes(seq);
    const thread = data.threads.get(seq) ?? null;
    const status = this.statusOf(message, data);
    const before = data.views.get(seq);
    if (
      before?.from === message &&
      before.view.reactions === reactions &&
      before.view.pinned === pinned &&
      before.view.thread === thread &&
      before.view.status === status
    )
      return before.view;
    const view = { ...message, reactions, pinned, thread, status };
    data.views.set(seq, { from: message, view });
    return view;
  }

  /** Your message is delivered / read once every other member who can see it has got / read it. */
  private statusOf(message: MessageView, data: ConversationData): MessageStatus {
    if (message.senderId !== this.client.me || message.seq === null) return message.status;
    // A channel has no receipts from its members: a stored message of yours stays `sent`.
    if (data.summary.kind === 'channel') return 'sent';
    const receipts = data.members.receiptsOf(message.seq, new Set([this.client.me]));
    const read = receipts ? receipts.every((r) => r.read) : data.summary.peers_read_seq >= message.seq;
    const delivered = receipts
      ? receipts.every((r) => r.delivered)
      : data.summary.peers_delivered_seq >= message.seq;
    return read ? 'read' : delivered ? 'delivered' : 'sent';
  }

  /** Whether someone else's message mentions you, by id or as everyone. */
  private mentionsMe(event: ChatEvent): boolean {
    const mentions = event.data?.mentions;
    if (!mentions || event.sender_id === this.client.me) return false;
    return mentions.some((m) => m === this.client.me || m === '@all' || m === '@here');
  }

  /** A pending reply shows its quote from the parent held here (the server's copy replaces it). */
  private pendingQuote(entry: OutboxEntry): ReplyQuote | null {
    if (entry.replyTo === undefined) return null;
    const parent = this.data.get(entry.conversationId)?.messages.get(entry.replyTo);
    return {
      seq: entry.replyTo,
      sender_id: parent?.senderId ?? '',
      body: parent?.body ?? null,
      deleted: parent?.deleted ?? false,
    };
  }

  private pendingView(entry: OutboxEntry): MessageView {
    return {
      conversationId: entry.conversationId,
      seq: null,
      clientMsgId: entry.clientMsgId,
      senderId: this.client.me,
      body: entry.body,
      metadata: entry.metadata ?? null,
      attachments: entry.attachments ?? [],
      replyTo: this.pendingQuote(entry),
      mentions: entry.mentions ?? [],
      mentionsMe: false,
      reactions: [],
      pinned: false,
      thread: null,
      threadRoot: entry.threadRoot ?? null,
      threadSeq: null,
      edited: false,
      deleted: false,
      createdAt: entry.createdAt,
      status: entry.state === 'failed' ? 'failed' : 'sending',
      error: entry.error ?? null,
    };
  }
}

function noticeOf(event: ChatEvent): NoticeView {
  const data = event.data ?? {};
  return {
    conversationId: event.conversation_id,
    seq: event.seq,
    kind: event.kind as NoticeKind,
    actorId: event.sender_id,
    userId: data.user_id ?? null,
    role: data.role ?? null,
    title: data.title ?? null,
    memberIds: data.member_ids ?? [],
    refSeq: event.ref_seq,
    groupMentions: data.group_mentions ?? null,
    posting: data.posting ?? null,
    createdAt: event.created_at,
  };
}
