import type { ChatEvent, ConversationSummary, PresenceState, TypingUpdateFrame } from '@natter/protocol';
import { Emitter } from './emitter.js';
import type { NatterClient } from './natter-client.js';
import type { OutboxEntry } from './outbox.js';

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
  edited: boolean;
  deleted: boolean;
  createdAt: number;
  /** For your own messages; others' messages are always `sent`. */
  status: MessageStatus;
}

interface ConversationData {
  summary: ConversationSummary;
  messages: Map<number, MessageView>;
  typing: Map<string, ReturnType<typeof setTimeout>>;
}

/**
 * The client's events folded into what an app renders: conversations by last activity with unread
 * counts, messages with edits and deletions applied and your own pending ones at the end, tick
 * status, who is typing, and presence. `change` names the conversation that changed ('' for
 * presence, which is not tied to one).
 *
 * Messages are those seen since the client started (live, resumed or loaded with `history`);
 * older ones are loaded page by page with `loadOlder`.
 */
export class ChatState extends Emitter<{ change: (conversationId: string) => void }> {
  private readonly data = new Map<string, ConversationData>();
  private readonly pending = new Map<string, OutboxEntry>();
  private readonly presence = new Map<string, PresenceState>();
  /** Events of conversations whose summary has not arrived yet (you were just added). */
  private readonly early = new Map<string, ChatEvent[]>();

  constructor(private readonly client: NatterClient) {
    super();
    client.on('conversation', (summary) => this.onSummary(summary));
    client.on('event', (event) => this.onEvent(event));
    client.on('outbox', (entry) => this.onOutbox(entry));
    client.on('receipt', (receipt) => this.onReceipt(receipt));
    client.on('typing', (typing) => this.onTyping(typing));
    client.on('presence', ({ type: _, ...state }) => {
      this.presence.set(state.user_id, state);
      this.emit('change', '');
    });
  }

  /** Online and last-seen of a user you watch (`client.watchPresence`), if known. */
  presenceOf(userId: string): PresenceState | undefined {
    return this.presence.get(userId);
  }

  /** Conversations, most recently active first. */
  conversations(): ConversationSummary[] {
    return [...this.data.values()].map((d) => d.summary).sort((a, b) => b.updated_at - a.updated_at);
  }

  conversation(conversationId: string): ConversationSummary | undefined {
    return this.data.get(conversationId)?.summary;
  }

  /** Stored messages in seq order, then your messages still in the outbox. */
  messages(conversationId: string): MessageView[] {
    const data = this.data.get(conversationId);
    const stored = data ? [...data.messages.values()].sort((a, b) => a.seq! - b.seq!) : [];
    const mine = [...this.pending.values()]
      .filter((e) => e.conversationId === conversationId)
      .sort((a, b) => a.createdAt - b.createdAt)
      .map((e) => this.pendingView(e));
    return [...stored.map((m) => this.withStatus(m, data)), ...mine];
  }

  typingIn(conversationId: string): string[] {
    return [...(this.data.get(conversationId)?.typing.keys() ?? [])];
  }

  /** Loads the page of history before the oldest message held (scrolling up). True if more remain. */
  async loadOlder(conversationId: string, limit = 50): Promise<boolean> {
    const held = [...(this.data.get(conversationId)?.messages.keys() ?? [])];
    const oldest = held.length > 0 ? Math.min(...held) : undefined;
    const page = await this.client.history(conversationId, oldest, limit);
    for (const event of page.events) this.fold(event, false);
    this.emit('change', conversationId);
    return page.has_more;
  }

  /** Marks the conversation read up to its newest message. */
  markRead(conversationId: string): void {
    const data = this.data.get(conversationId);
    if (!data || data.summary.read_seq >= data.summary.last_seq) return;
    this.client.markRead(conversationId, data.summary.last_seq);
  }

  private onSummary(summary: ConversationSummary): void {
    const data = this.data.get(summary.conversation_id);
    if (data) data.summary = summary;
    else this.data.set(summary.conversation_id, { summary, messages: new Map(), typing: new Map() });
    for (const event of this.early.get(summary.conversation_id) ?? []) this.fold(event, false);
    this.early.delete(summary.conversation_id);
    this.emit('change', summary.conversation_id);
  }

  private onEvent(event: ChatEvent): void {
    this.fold(event, true);
    this.emit('change', event.conversation_id);
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
        edited: false,
        deleted: event.deleted,
        createdAt: event.created_at,
        status: 'sent',
      });
      if (event.client_msg_id) this.pending.delete(event.client_msg_id);
    } else if ((event.kind === 'edit' || event.kind === 'delete') && event.ref_seq !== null) {
      const target = data.messages.get(event.ref_seq);
      if (target && event.kind === 'edit' && !target.deleted) {
        target.body = event.body;
        target.edited = true;
      }
      if (target && event.kind === 'delete') {
        target.body = null;
        target.deleted = true;
      }
    }
    if (!live || event.seq <= data.summary.last_seq) return;
    const summary = { ...data.summary, last_seq: event.seq, updated_at: event.created_at };
    if (event.kind === 'message') {
      summary.last_message = event;
      if (event.sender_id === this.client.me) {
        summary.read_seq = event.seq;
        summary.unread = 0;
      } else {
        summary.unread += 1;
      }
    }
    data.summary = summary;
  }

  private onOutbox(entry: OutboxEntry): void {
    if (entry.state === 'sent') this.pending.delete(entry.clientMsgId);
    else this.pending.set(entry.clientMsgId, entry);
    this.emit('change', entry.conversationId);
  }

  private onReceipt(receipt: {
    conversation_id: string;
    user_id: string;
    delivered_seq: number;
    read_seq: number;
  }): void {
    const data = this.data.get(receipt.conversation_id);
    if (!data) return;
    const summary = { ...data.summary };
    if (receipt.user_id === this.client.me) {
      summary.read_seq = Math.max(summary.read_seq, receipt.read_seq);
      summary.delivered_seq = Math.max(summary.delivered_seq, receipt.delivered_seq);
      if (summary.read_seq >= summary.last_seq) summary.unread = 0;
      else {
        const unreadHeld = [...data.messages.values()].filter(
          (m) => m.seq! > summary.read_seq && m.senderId !== this.client.me && !m.deleted,
        ).length;
        summary.unread = Math.min(summary.unread, unreadHeld);
      }
    } else if (summary.kind === 'direct') {
      summary.peers_read_seq = Math.max(summary.peers_read_seq, receipt.read_seq);
      summary.peers_delivered_seq = Math.max(summary.peers_delivered_seq, receipt.delivered_seq);
    }
    data.summary = summary;
    this.emit('change', receipt.conversation_id);
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
          this.emit('change', frame.conversation_id);
        }, frame.ttl_ms),
      );
    } else {
      data.typing.delete(frame.user_id);
    }
    this.emit('change', frame.conversation_id);
  }

  private withStatus(message: MessageView, data: ConversationData | undefined): MessageView {
    if (!data || message.senderId !== this.client.me || message.seq === null) return message;
    const { peers_read_seq: read, peers_delivered_seq: delivered } = data.summary;
    const status: MessageStatus =
      read >= message.seq ? 'read' : delivered >= message.seq ? 'delivered' : 'sent';
    return { ...message, status };
  }

  private pendingView(entry: OutboxEntry): MessageView {
    return {
      conversationId: entry.conversationId,
      seq: null,
      clientMsgId: entry.clientMsgId,
      senderId: this.client.me,
      body: entry.body,
      edited: false,
      deleted: false,
      createdAt: entry.createdAt,
      status: entry.state === 'failed' ? 'failed' : 'sending',
    };
  }
}
