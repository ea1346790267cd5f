import {
  type AckFrame,
  type ChatEvent,
  type ConversationSummary,
  ERRORS,
  type ErrorCode,
  type ErrorFrame,
  type EventsFrame,
  NatterError,
  type PresenceResultFrame,
  type PresenceState,
  type PresenceUpdateFrame,
  type ReadyFrame,
  type ReceiptUpdateFrame,
  type ServerFrame,
  type SyncResultFrame,
  type TypingUpdateFrame,
} from '@natter/protocol';
import { backoffDelay } from './backoff.js';
import { ConversationLog } from './conversation-log.js';
import { Emitter } from './emitter.js';
import { MemoryOutboxStorage, type OutboxEntry, type OutboxStorage } from './outbox.js';
import { SOCKET_OPEN, type WebSocketFactory, type WebSocketLike } from './socket.js';

/** connecting: opening and authenticating; syncing: catching up; live: caught up; offline: waiting to retry. */
export type ClientState = 'connecting' | 'syncing' | 'live' | 'offline' | 'closed';

export interface NatterClientOptions {
  /** ws://host:port/ws */
  url: string;
  /** A token, or a function returning a fresh one for every (re)connection. */
  token: string | (() => Promise<string>);
  /** Opens sockets: `(url) => new WebSocket(url)` in browsers; pass the `ws` package in Node 20. */
  webSocket: WebSocketFactory;
  deviceId?: string;
  outbox?: OutboxStorage;
  /** A change token saved from an earlier session: resume from it instead of listing everything. */
  syncToken?: string;
  requestTimeoutMs?: number;
  /**
   * Tells the client when the device goes offline or online. Defaults to the browser's `offline`
   * and `online` events where they exist; nothing in Node.js.
   */
  network?: NetworkSignals;
}

export interface NetworkSignals {
  onOnline(listener: () => void): void;
  onOffline(listener: () => void): void;
}

export interface NatterClientEvents {
  state: (state: ClientState) => void;
  /** Each event of each conversation exactly once, in seq order (own messages included, on ack). */
  event: (event: ChatEvent) => void;
  conversation: (summary: ConversationSummary) => void;
  receipt: (receipt: ReceiptUpdateFrame) => void;
  typing: (typing: TypingUpdateFrame) => void;
  presence: (presence: PresenceUpdateFrame) => void;
  outbox: (entry: OutboxEntry) => void;
  /** The connection gave up for good (bad token): call `connect()` again with a new token. */
  fatal: (error: NatterError) => void;
}

interface PendingRequest {
  resolve: (frame: ServerFrame) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

type RequestBody = { type: string; [field: string]: unknown };

/** Closes that a fixed token cannot recover from (with a token function, a fresh token is fetched). */
const FATAL_CLOSES = new Map<number, ErrorCode>([
  [4001, 'auth_failed'],
  [4003, 'token_expired'],
]);

/**
 * A Natter connection that keeps itself alive: it reconnects with backoff and jitter, resumes with
 * its change token after every reconnect, fills any hole it sees in a conversation, drops
 * duplicates, and retries unsent messages with their original client_msg_id until acked.
 */
export class NatterClient extends Emitter<NatterClientEvents> {
  private socket: WebSocketLike | null = null;
  private currentState: ClientState = 'offline';
  private readonly pending = new Map<string, PendingRequest>();
  private nextRequest = 1;
  private attempt = 0;
  private retryAfterMs = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private livenessTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimeoutMs = 60_000;
  private token: string | undefined;
  private resuming: Promise<void> = Promise.resolve();
  private readonly log = new ConversationLog();
  private readonly outbox: OutboxStorage;
  private readonly unsent = new Map<string, OutboxEntry>();
  private userId = '';
  private readonly deliveredUpTo = new Map<string, number>();
  private watched: string[] = [];
  private deliveredTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: NatterClientOptions) {
    super();
    this.outbox = options.outbox ?? new MemoryOutboxStorage();
    this.token = options.syncToken;
    const network = options.network ?? browserNetwork();
    network?.onOffline(() => this.socket?.close(4000, 'device offline'));
    network?.onOnline(() => this.reconnectNow());
  }

  get state(): ClientState {
    return this.currentState;
  }

  /** The change token to save for the next session (see `syncToken`). */
  get syncToken(): string | undefined {
    return this.token;
  }

  get me(): string {
    return this.userId;
  }

  /** Loads unsent messages from storage and connects. */
  async connect(): Promise<void> {
    for (const entry of await this.outbox.load()) {
      if (entry.state === 'sending') this.unsent.set(entry.clientMsgId, entry);
    }
    this.open();
  }

  close(): void {
    this.setState('closed');
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.livenessTimer);
    this.socket?.close(1000, 'client closed');
    this.socket = null;
  }

  /** Queues a message: it shows at once as `sending`, and goes out (again) until acked. */
  async send(conversationId: string, body: string, clientMsgId = randomId()): Promise<OutboxEntry> {
    const entry: OutboxEntry = { clientMsgId, conversationId, body, createdAt: Date.now(), state: 'sending' };
    this.unsent.set(clientMsgId, entry);
    await this.outbox.save(entry);
    this.emit('outbox', { ...entry });
    if (this.currentState === 'live') void this.transmit(entry);
    return entry;
  }

  /** Marks everything up to `seq` read (the server keeps the cursor and tells your other devices). */
  markRead(conversationId: string, seq: number): void {
    this.fire({ type: 'receipt', conversation_id: conversationId, kind: 'read', seq });
  }

  typing(conversationId: string, state: 'start' | 'stop'): void {
    this.fire({ type: 'typing', conversation_id: conversationId, state });
  }

  /**
   * Watches these users' presence (replacing the previous set; kept across reconnects). Answers
   * with the current state of those who share a conversation with you; `presence` events follow.
   */
  async watchPresence(userIds: string[]): Promise<PresenceState[]> {
    this.watched = [...new Set(userIds)];
    if (this.currentState !== 'live' && this.currentState !== 'syncing') return [];
    const result = await this.request<PresenceResultFrame>({
      type: 'presence_subscribe',
      user_ids: this.watched,
    });
    for (const state of result.presence) this.emit('presence', { type: 'presence', ...state });
    return result.presence;
  }

  /** Older events, for scrolling up: the page before `beforeSeq` (newest page when omitted). */
  async history(conversationId: string, beforeSeq?: number, limit?: number): Promise<EventsFrame> {
    return this.request<EventsFrame>({
      type: 'history',
      conversation_id: conversationId,
      ...(beforeSeq === undefined ? {} : { before_seq: beforeSeq }),
      ...(limit === undefined ? {} : { limit }),
    });
  }

  /** Sends a request and resolves with its answer; rejects with the server's error or a timeout. */
  async request<T extends ServerFrame>(body: RequestBody): Promise<T> {
    const socket = this.socket;
    if (!socket || socket.readyState !== SOCKET_OPEN) throw new NatterError('unavailable', 'Not connected.');
    const id = `r${this.nextRequest++}`;
    const answer = new Promise<ServerFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new NatterError('unavailable', `No answer to ${body.type} in time.`));
      }, this.options.requestTimeoutMs ?? 15_000);
      this.pending.set(id, { resolve, reject, timer });
    });
    socket.send(JSON.stringify({ ...body, id }));
    const frame = await answer;
    if (frame.type === 'error') throw errorOf(frame);
    return frame as T;
  }

  /** Reconnects at once if waiting to (the device came back online): no backoff to sit out. */
  private reconnectNow(): void {
    if (this.currentState !== 'offline' || this.socket) return;
    clearTimeout(this.reconnectTimer);
    this.attempt = 0;
    this.open();
  }

  private open(): void {
    if (this.currentState === 'closed') this.currentState = 'offline';
    this.setState('connecting');
    const socket = this.options.webSocket(this.options.url);
    this.socket = socket;
    socket.onopen = () => void this.authenticate(socket);
    socket.onmessage = (message) => {
      if (this.socket === socket) this.onFrame(String(message.data));
    };
    socket.onclose = (event) => {
      if (this.socket === socket) this.onClose(event.code);
    };
    socket.onerror = () => {};
  }

  private async authenticate(socket: WebSocketLike): Promise<void> {
    try {
      const token = typeof this.options.token === 'string' ? this.options.token : await this.options.token();
      const ready = await this.request<ReadyFrame>({
        type: 'auth',
        token,
        ...(this.options.deviceId ? { device_id: this.options.deviceId } : {}),
      });
      this.userId = ready.user_id;
      this.heartbeatTimeoutMs = ready.heartbeat_timeout_ms;
      this.attempt = 0;
      this.setState('syncing');
      await this.resume();
      if (this.socket !== socket) return;
      this.setState('live');
      for (const entry of this.unsent.values()) void this.transmit(entry);
      if (this.watched.length > 0) void this.watchPresence(this.watched).catch(() => {});
    } catch {
      // The socket's close handler takes it from here (the server closes after an auth error).
      if (this.socket === socket && socket.readyState === SOCKET_OPEN) socket.close(4000, 'setup failed');
    }
  }

  private onFrame(text: string): void {
    this.armLiveness();
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      return;
    }
    if ('re' in frame && frame.re !== undefined) {
      const pending = this.pending.get(frame.re);
      if (pending) {
        this.pending.delete(frame.re);
        clearTimeout(pending.timer);
        pending.resolve(frame);
        return;
      }
    }
    switch (frame.type) {
      case 'event': {
        // An event of a conversation we have never seen means we were just added: sync at once
        // to learn its summary rather than waiting for the next heartbeat.
        const unknown = !this.log.knows(frame.event.conversation_id);
        this.deliver([frame.event]);
        if (unknown) void this.resumeInOrder(() => this.syncAll());
        else if (this.log.holes().length > 0) void this.resumeInOrder(() => this.fillHoles());
        break;
      }
      case 'receipt':
        this.emit('receipt', frame);
        break;
      case 'typing':
        this.emit('typing', frame);
        break;
      case 'presence':
        this.emit('presence', frame);
        break;
      case 'ping':
        this.fire({ type: 'pong' });
        if (this.currentState === 'live' && frame.token !== this.token)
          void this.resumeInOrder(() => this.syncAll());
        break;
      case 'reconnect':
        this.retryAfterMs = frame.retry_after_ms;
        break;
      default:
        break;
    }
  }

  private onClose(code: number): void {
    clearTimeout(this.livenessTimer);
    this.socket = null;
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new NatterError('unavailable', 'Connection lost.'));
    }
    this.pending.clear();
    if (this.currentState === 'closed') return;
    const fatal = FATAL_CLOSES.get(code);
    if (fatal && typeof this.options.token === 'string') {
      this.setState('closed');
      this.emit('fatal', new NatterError(fatal));
      return;
    }
    this.setState('offline');
    const delay = Math.max(this.retryAfterMs, backoffDelay(this.attempt++));
    this.retryAfterMs = 0;
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  /** A socket that has gone quiet for longer than the heartbeat timeout is dead: drop it. */
  private armLiveness(): void {
    clearTimeout(this.livenessTimer);
    const socket = this.socket;
    this.livenessTimer = setTimeout(() => {
      if (this.socket === socket) socket?.close(4000, 'no heartbeat');
    }, this.heartbeatTimeoutMs + 5_000);
  }

  private resume(): Promise<void> {
    return this.resumeInOrder(() => this.syncAll());
  }

  /** Runs catch-up work one at a time, so two resumes never interleave their tokens. */
  private resumeInOrder(work: () => Promise<void>): Promise<void> {
    const next = this.resuming.then(work, work);
    this.resuming = next.catch(() => {});
    return next;
  }

  private async syncAll(): Promise<void> {
    const listing = this.token === undefined;
    let token = this.token;
    for (;;) {
      const page = await this.request<SyncResultFrame>({ type: 'sync', ...(token ? { since: token } : {}) });
      for (const summary of page.conversations) {
        // A conversation this process has not seen starts where this sync starts it: at its
        // newest seq for a listing, else right before the first event the token brings.
        const first = page.events.find((e) => e.conversation_id === summary.conversation_id)?.seq;
        this.log.startAt(
          summary.conversation_id,
          listing || first === undefined ? summary.last_seq : first - 1,
        );
        this.emit('conversation', summary);
      }
      this.deliver(page.events);
      for (const id of page.truncated) await this.fetchFrom(id, this.log.releasedUpTo(id));
      token = page.token;
      if (!page.has_more) break;
    }
    await this.fillHoles();
    this.token = token;
  }

  private async fillHoles(): Promise<void> {
    for (const hole of this.log.holes()) await this.fetchFrom(hole.conversationId, hole.afterSeq);
  }

  private async fetchFrom(conversationId: string, afterSeq: number): Promise<void> {
    let after = afterSeq;
    for (;;) {
      const page = await this.request<EventsFrame>({
        type: 'fetch',
        conversation_id: conversationId,
        after_seq: after,
      });
      this.deliver(page.events);
      after = page.events.at(-1)?.seq ?? after;
      if (!page.has_more) return;
    }
  }

  private deliver(events: ChatEvent[]): void {
    for (const event of events) {
      for (const ready of this.log.accept(event)) {
        this.emit('event', ready);
        if (ready.sender_id !== this.userId) this.noteDelivered(ready.conversation_id, ready.seq);
      }
    }
  }

  /** Delivered receipts go out batched: one per conversation per short window, for its highest seq. */
  private noteDelivered(conversationId: string, seq: number): void {
    this.deliveredUpTo.set(conversationId, Math.max(seq, this.deliveredUpTo.get(conversationId) ?? 0));
    if (this.deliveredTimer !== undefined) return;
    this.deliveredTimer = setTimeout(() => {
      this.deliveredTimer = undefined;
      for (const [id, upTo] of this.deliveredUpTo) {
        this.fire({ type: 'receipt', conversation_id: id, kind: 'delivered', seq: upTo });
      }
      this.deliveredUpTo.clear();
    }, 100);
  }

  private async transmit(entry: OutboxEntry): Promise<void> {
    try {
      const ack = await this.request<AckFrame>({
        type: 'send',
        conversation_id: entry.conversationId,
        client_msg_id: entry.clientMsgId,
        body: entry.body,
      });
      if (!this.unsent.delete(entry.clientMsgId)) return;
      await this.outbox.remove(entry.clientMsgId);
      this.emit('outbox', { ...entry, state: 'sent', seq: ack.seq });
      this.deliver([ownEvent(entry, ack, this.userId, this.options.deviceId)]);
    } catch (error) {
      const code: ErrorCode = error instanceof NatterError ? error.code : 'unavailable';
      if (ERRORS[code].retryable) {
        const wait = error instanceof NatterError ? (error.retryAfterMs ?? 1000) : 1000;
        setTimeout(() => {
          if (this.currentState === 'live' && this.unsent.has(entry.clientMsgId)) void this.transmit(entry);
        }, wait);
        return;
      }
      this.unsent.delete(entry.clientMsgId);
      const failed: OutboxEntry = {
        ...entry,
        state: 'failed',
        error: { code, message: (error as Error).message },
      };
      await this.outbox.remove(entry.clientMsgId);
      this.emit('outbox', failed);
    }
  }

  /** Sends a frame that expects no answer; dropped when offline (it is ephemeral anyway). */
  private fire(body: RequestBody): void {
    if (this.socket?.readyState === SOCKET_OPEN) this.socket.send(JSON.stringify(body));
  }

  private setState(state: ClientState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    this.emit('state', state);
  }
}

function errorOf(frame: ErrorFrame): NatterError {
  return new NatterError(frame.code, frame.message, {
    ...(frame.retry_after_ms === undefined ? {} : { retryAfterMs: frame.retry_after_ms }),
  });
}

/** The event our own acked message became: the server does not echo it to the sending connection. */
function ownEvent(
  entry: OutboxEntry,
  ack: AckFrame,
  userId: string,
  deviceId: string | undefined,
): ChatEvent {
  return {
    conversation_id: entry.conversationId,
    seq: ack.seq,
    kind: 'message',
    sender_id: userId,
    device_id: deviceId ?? null,
    client_msg_id: entry.clientMsgId,
    body: entry.body,
    ref_seq: null,
    data: null,
    deleted: false,
    created_at: ack.created_at,
  };
}

function browserNetwork(): NetworkSignals | undefined {
  const target = globalThis as { addEventListener?: (type: string, listener: () => void) => void };
  const add = target.addEventListener;
  if (typeof add !== 'function' || !('navigator' in globalThis)) return undefined;
  return {
    onOnline: (listener) => add.call(globalThis, 'online', listener),
    onOffline: (listener) => add.call(globalThis, 'offline', listener),
  };
}

function randomId(): string {
  return globalThis.crypto.randomUUID();
}
