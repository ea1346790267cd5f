import type { ChatEvent, ConversationSummary, MemberInfo, Role } from '@natter/protocol/core';

/** A current member of a conversation and how far they have got. */
export interface MemberView {
  userId: string;
  role: Role;
  /** The first seq they can see: they never get a receipt for anything before it. */
  joinedSeq: number;
  deliveredSeq: number;
  readSeq: number;
}

/** Whether one member has got (`delivered`) and seen (`read`) a given message. */
export interface MemberReceipt {
  userId: string;
  delivered: boolean;
  read: boolean;
}

interface Cursors {
  delivered: number;
  read: number;
}

/**
 * The members of one conversation with their delivered/read cursors. Cursors only move forward
 * (every update is a max), so receipts, the cursors a member's own events imply, summaries and
 * fetched member lists can arrive in any order and still agree.
 *
 * The member set is unknown until seeded: by a direct conversation's summary (its two users), by
 * the `created` event (when the log is followed from seq 1), or by a fetched member list. From
 * then on membership events keep it current.
 */
export class MemberCursors {
  private readonly cursors = new Map<string, Cursors>();
  private members: Map<string, { role: Role; joinedSeq: number }> | undefined;
  /** Membership events seen while a member list was being fetched: replayed on top of it. */
  private sinceFetch: ChatEvent[] | undefined;

  get known(): boolean {
    return this.members !== undefined;
  }

  advance(userId: string, delivered: number, read: number): void {
    const held = this.cursors.get(userId);
    // Read implies delivered (docs/protocol.md §10.8).
    this.cursors.set(userId, {
      delivered: Math.max(delivered, read, held?.delivered ?? 0),
      read: Math.max(read, held?.read ?? 0),
    });
  }

  /** Folds an event of the conversation's live stream (in seq order). */
  fold(event: ChatEvent): void {
    // Committing your own message moves your cursors to it, without a receipt (§10.8).
    if (event.kind === 'message' || event.kind === 'edit' || event.kind === 'delete') {
      this.advance(event.sender_id, event.seq, event.seq);
    }
    if (event.kind === 'created' && !this.members) {
      const founders = event.data?.member_ids ?? [];
      this.members = new Map();
      for (const userId of new Set([event.sender_id, ...founders])) {
        const group = typeof event.data?.title === 'string';
        const role: Role = group && userId === event.sender_id ? 'owner' : 'member';
        this.join(userId, role, event.seq);
      }
      return;
    }
    this.sinceFetch?.push(event);
    this.applyMembership(event);
  }

  /** Takes what a summary says: your own cursors, and "every other member is at least here". */
  applySummary(summary: ConversationSummary, me: string): void {
    this.advance(me, summary.delivered_seq, summary.read_seq);
    if (summary.kind === 'direct' && !this.members && summary.peer_id) {
      this.members = new Map();
      for (const userId of new Set([me, summary.peer_id])) this.join(userId, 'member', 1);
    }
    if (summary.left_seq !== null || !this.members) return;
    for (const userId of this.members.keys()) {
      if (userId !== me) this.advance(userId, summary.peers_delivered_seq, summary.peers_read_seq);
    }
  }

  /** True if the summary knows more than we do: a member or a receipt we never heard of. */
  lagsBehind(summary: ConversationSummary, me: string): boolean {
    if (!this.members || summary.left_seq !== null) return false;
    const peers = this.peers(me);
    return (
      this.members.size !== summary.member_count ||
      peers.read < summary.peers_read_seq ||
      peers.delivered < summary.peers_delivered_seq
    );
  }

  /** A member list fetch starts: membership events from now on are replayed over its answer. */
  fetchStarted(): void {
    this.sinceFetch = [];
  }

  fetchFailed(): void {
    this.sinceFetch = undefined;
  }

  /** The fetched list replaces the member set; cursors merge (they only move forward). */
  fetched(list: MemberInfo[]): void {
    this.members = new Map();
    for (const member of list) {
      this.join(member.user_id, member.role, member.joined_seq);
      this.advance(member.user_id, member.delivered_seq, member.read_seq);
    }
    for (const event of this.sinceFetch ?? []) this.applyMembership(event);
    this.sinceFetch = undefined;
  }

  /** Current members with their cursors, by join order; undefined until the set is known. */
  list(): MemberView[] | undefined {
    if (!this.members) return undefined;
    return [...this.members]
      .map(([userId, { role, joinedSeq }]) => {
        const { delivered, read } = this.cursorsOf(userId);
        return { userId, role, joinedSeq, deliveredSeq: delivered, readSeq: read };
      })
      .sort((a, b) => a.joinedSeq - b.joinedSeq);
  }

  /** Each current member who can see `seq` (joined at or before it), except those in `skip`. */
  receiptsOf(seq: number, skip: ReadonlySet<string>): MemberReceipt[] | undefined {
    return this.list()
      ?.filter((m) => m.joinedSeq <= seq && !skip.has(m.userId))
      .map((m) => ({ userId: m.userId, delivered: m.deliveredSeq >= seq, read: m.readSeq >= seq }));
  }

  /** The lowest cursors among the other current members ("everyone has read up to"); yours if alone. */
  peers(me: string): Cursors {
    const others = [...(this.members?.keys() ?? [])].filter((id) => id !== me);
    const all = (others.length > 0 ? others : [me]).map((id) => this.cursorsOf(id));
    return {
      delivered: Math.min(...all.map((c) => c.delivered)),
      read: Math.min(...all.map((c) => c.read)),
    };
  }

  private applyMembership(event: ChatEvent): void {
    const userId = event.data?.user_id;
    if (!this.members || userId === undefined) return;
    if (event.kind === 'member_added') this.join(userId, event.data?.role ?? 'member', event.seq);
    else if (event.kind === 'member_removed' || event.kind === 'member_left') this.members.delete(userId);
    else if (event.kind === 'role_changed') {
      const member = this.members.get(userId);
      if (member && event.data?.role) member.role = event.data.role;
    }
  }

  /** Cursors start at the seq a member joined at. */
  private join(userId: string, role: Role, joinedSeq: number): void {
    this.members?.set(userId, { role, joinedSeq });
    this.advance(userId, joinedSeq, joinedSeq);
  }

  private cursorsOf(userId: string): Cursors {
    return this.cursors.get(userId) ?? { delivered: 0, read: 0 };
  }
}
