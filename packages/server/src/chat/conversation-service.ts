import {
  type ChatEvent,
  type ConversationSummary,
  type EventsFrame,
  type GroupMentionPolicy,
  type MemberInfo,
  NatterError,
  type PostingPolicy,
  type Role,
  type SyncResultFrame,
} from '@natter/protocol';
import type { AccountStore } from '../store/account-store.js';
import { type EventPage, type HeldSeqs, type LogStore, NOTHING_HELD } from '../store/log-store.js';
import type { WriteOp } from '../store/write-ops.js';
import { decodeToken, encodeToken } from './change-token.js';
import type { GroupCommitter } from './group-commit.js';

export interface ConversationServiceOptions {
  /** When apps sign their own tokens, user ids are theirs: an unknown id is a user not yet seen. */
  autoCreateUsers: boolean;
  syncEventsPerConversation: number;
}

const DEFAULT_SYNC_LIMIT = 200;
const DEFAULT_PAGE = 50;

/** Conversations, membership, and the read side: sync, fetch, history. */
export class ConversationService {
  constructor(
    private readonly store: LogStore,
    private readonly accounts: AccountStore,
    private readonly committer: GroupCommitter,
    private readonly options: ConversationServiceOptions,
  ) {}

  async createDirect(userId: string, peerId: string): Promise<ConversationSummary> {
    await this.requireUser(peerId);
    const { conversationId } = await this.write({ kind: 'create_direct', userId, peerId });
    return this.summary(userId, conversationId);
  }

  async createGroup(creatorId: string, title: string, memberIds: string[]): Promise<ConversationSummary> {
    for (const id of memberIds) await this.requireUser(id);
    const { conversationId } = await this.write({ kind: 'create_group', creatorId, title, memberIds });
    return this.summary(creatorId, conversationId);
  }

  /** A channel: a very large conversation that fans out on read, with who may post in it. */
  async createChannel(
    creatorId: string,
    title: string,
    memberIds: string[],
    posting: PostingPolicy,
  ): Promise<ConversationSummary> {
    for (const id of memberIds) await this.requireUser(id);
    const { conversationId } = await this.write({
      kind: 'create_channel',
      creatorId,
      title,
      memberIds,
      posting,
    });
    return this.summary(creatorId, conversationId);
  }

  async addMember(actorId: string, conversationId: string, userId: string, role: Role): Promise<number> {
    await this.requireUser(userId);
    return this.lastSeq(await this.write({ kind: 'add_member', actorId, conversationId, userId, role }));
  }

  /** Removes a member, or leaves when actor and user are the same. */
  async removeMember(actorId: string, conversationId: string, userId: string): Promise<number> {
    return this.lastSeq(await this.write({ kind: 'remove_member', actorId, conversationId, userId }));
  }

  async setRole(actorId: string, conversationId: string, userId: string, role: Role): Promise<number> {
    return this.lastSeq(await this.write({ kind: 'set_role', actorId, conversationId, userId, role }));
  }

  /**
   * Renames a group or channel, sets who may mention @all / @here in it, and (a channel) who may
   * post in it: admins and owners only.
   */
  async update(
    actorId: string,
    conversationId: string,
    change: { title?: string; groupMentions?: GroupMentionPolicy; posting?: PostingPolicy },
  ): Promise<ConversationSummary> {
    if (change.title !== undefined)
      await this.write({ kind: 'rename', actorId, conversationId, title: change.title });
    if (change.groupMentions !== undefined) {
      await this.write({ kind: 'group_mentions', actorId, conversationId, policy: change.groupMentions });
    }
    if (change.posting !== undefined) {
      await this.write({ kind: 'posting', actorId, conversationId, policy: change.posting });
    }
    return this.summary(actorId, conversationId);
  }

  async summary(userId: string, conversationId: string): Promise<ConversationSummary> {
    return found(await this.store.conversationFor(userId, conversationId));
  }

  async members(userId: string, conversationId: string): Promise<MemberInfo[]> {
    return found(await this.store.membersFor(userId, conversationId));
  }

  /**
   * Of `candidates`, those the user may look up (themself included): anyone whose events they can
   * see, i.e. who was a member of a conversation at the same time as them (a former member of a
   * group still has a name in its history).
   */
  async contactsAmong(userId: string, candidates: string[]): Promise<string[]> {
    const others = candidates.filter((id) => id !== userId);
    const visible = new Set(await this.store.seenAlongside(userId, others));
    return candidates.filter((id) => id === userId || visible.has(id));
  }

  async list(userId: string): Promise<ConversationSummary[]> {
    const all: ConversationSummary[] = [];
    let since = 0;
    for (;;) {
      const page = await this.store.syncSince(userId, since, 0, 500, 0);
      all.push(...page.conversations);
      if (!page.hasMore) return all;
      since = page.position;
    }
  }

  /** One round trip of resume: what changed since the token, with the events that changed it. */
  async sync(
    userId: string,
    token: string | null | undefined,
    limit = DEFAULT_SYNC_LIMIT,
    held: HeldSeqs = NOTHING_HELD,
  ): Promise<Omit<SyncResultFrame, 're'>> {
    const from = token ? decodeToken(token) : { position: 0, after: 0, listing: true };
    const perConversation = from.listing ? 0 : this.options.syncEventsPerConversation;
    const page = await this.store.syncSince(userId, from.after, from.position, limit, perConversation, held);
    const next = page.hasMore
      ? { ...from, after: page.position }
      : { listing: false, position: page.position, after: page.position };
    return {
      type: 'sync_result',
      conversations: page.conversations,
      events: page.events,
      truncated: page.truncated,
      ...(page.hidden.length > 0 ? { hidden: page.hidden } : {}),
      token: encodeToken(next),
      has_more: page.hasMore,
    };
  }

  /** The token a client holding everything would have now: compared on each heartbeat. */
  async changeToken(userId: string): Promise<string> {
    const position = await this.store.latestPosition(userId);
    return encodeToken({ position, after: position, listing: false });
  }

  async fetch(userId: string, conversationId: string, afterSeq: number, limit?: number): Promise<EventsPage> {
    return page(await this.store.fetchAfter(userId, conversationId, afterSeq, limit ?? DEFAULT_PAGE));
  }

  async history(
    userId: string,
    conversationId: string,
    beforeSeq: number | undefined,
    limit?: number,
  ): Promise<EventsPage> {
    return page(
      await this.store.historyBefore(userId, conversationId, beforeSeq ?? null, limit ?? DEFAULT_PAGE),
    );
  }

  /** A page of the thread under `rootSeq`, before thread seq `beforeThreadSeq` (newest page when undefined). */
  async threadHistory(
    userId: string,
    conversationId: string,
    rootSeq: number,
    beforeThreadSeq: number | undefined,
    limit?: number,
  ): Promise<EventsPage> {
    return page(
      await this.store.threadBefore(
        userId,
        conversationId,
        rootSeq,
        beforeThreadSeq ?? null,
        limit ?? DEFAULT_PAGE,
      ),
    );
  }

  private async write(op: WriteOp) {
    return this.committer.write(op);
  }

  private lastSeq(outcome: { events: ChatEvent[] }): number {
    return outcome.events.at(-1)?.seq ?? 0;
  }

  private async requireUser(id: string): Promise<void> {
    if (this.options.autoCreateUsers) return this.accounts.ensureUser(id);
    if (!(await this.accounts.userById(id))) throw new NatterError('user_not_found');
  }
}

/** A page of events as the wire carries it (fetch, history). */
export type EventsPage = Pick<EventsFrame, 'events' | 'has_more'>;

function page(value: EventPage | null): EventsPage {
  const { events, hasMore } = found(value);
  return { events, has_more: hasMore };
}

function found<T>(value: T | null): T {
  if (value === null) throw new NatterError('not_found');
  return value;
}
