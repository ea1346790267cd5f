import {
  type AckFrame,
  type AttachmentRef,
  type ChatEvent,
  type ConversationSummary,
  ERRORS,
  type ErrorCode,
  type ErrorFrame,
  type EventsFrame,
  type Limits,
  MAX_HELD,
  NatterError,
  type NotificationLevel,
  type OkFrame,
  type PinFrame,
  type PresenceResultFrame,
  type PresenceState,
  type PresenceUpdateFrame,
  type ReactFrame,
  type ReadyFrame,
  type ReceiptUpdateFrame,
  type SearchResultFrame,
  type ServerFrame,
  type SyncResultFrame,
  type ThreadReceiptFrame,
  type TypingUpdateFrame,
  utf8Length,
} from '@natter/protocol/core';
import { backoffDelay, restartRetryDelay } from './backoff.js';
import { ConversationLog } from './conversation-log.js';
import { Emitter } from './emitter.js';
import { HttpStreamSocket, httpBaseOf } from './http-stream-socket.js';
import { MemoryOutboxStorage, type OutboxEntry, type OutboxStorage } from './outbox.js';
import { SOCKET_OPEN, type WebSocketFactory, type WebSocketLike } from './socket.js';
import { ALL_TRANSPORTS, type Transport, TransportPolicy } from './transport-policy.js';

/**
 * connecting: opening the socket; open: the socket is open and authenticating (before `ready`);
 * syncing: catching up; live: caught up; offline: waiting to retry; closed: `close()` or a refused
 * fixed token. A connection goes connecting -> open -> syncing -> live, and to offline from any of them.
 */
export type ClientState = 'connecting' | 'open' | 'syncing' | 'live' | 'offline' | 'closed';

export interface NatterClientOptions {
  /** ws://host:port/ws */
  url: string;
  /** A token, or a function returning a fresh one for every (re)connection. */
  token: string | (() => Promise<string>);
  /** Opens sockets. Defaults to the platform's WebSocket (browsers, Node.js 22+); in Node 20 pass the `ws` package. */
  webSocket?: WebSocketFactory;
  /**
   * The transports to try, in order (protocol §2.1). Default: WebSocket, then Server-Sent Events,
   * then long polls. The client moves down the list after attempts that fail to open (three
   * WebSocket upgrades, two event streams) and tries the first again after `firstTransportRetryMs`.
   */
  transports?: readonly Transport[];
  /** How long a fallback is used before the first transport is tried again (default 5 minutes). */
  firstTransportRetryMs?: number;
  /** Makes HTTP requests for the fallback transports; defaults to the platform's fetch. */
  fetch?: typeof globalThis.fetch;
  /**
   * An event stream whose first byte takes longer than this (default 10 s) is taken for one a
   * proxy holds back, and counts as a failed attempt.
   */
  eventStreamTimeoutMs?: number;
  deviceId?: string;
  /**
   * Your user id, if the app knows it (it does after a login): folded state can then show your
   * queued messages as yours before the first connection says who you are.
   */
  userId?: string;
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

export interface SendOptions {
  /** Your idempotency key for this message; a fresh UUID by default. */
  clientMsgId?: string;
  /** An app-defined JSON object stored and returned with the message (protocol §6.2, at most 2 KiB). */
  metadata?: Record<string, unknown>;
  /** The seq of the message this answers: the stored message carries a quote of it. */
  replyTo?: number;
  /** User ids of current members this mentions, and `@all` / `@here`. */
  mentions?: string[];
  /** Sends it as a reply in the thread under this message (its seq). */
  threadRoot?: number;
  /** Files it carries, uploaded first with `NatterHttp.uploadAttachment` (protocol §11.7). */
  attachments?: AttachmentRef[];
}

/** Each may return a function that removes the listener again; `close()` calls it. */
export interface NetworkSignals {
  // biome-ignore lint/suspicious/noConfusingVoidType: listeners that cannot be removed return nothing.
  onOnline(listener: () => void): void | (() => void);
  // biome-ignore lint/suspicious/noConfusingVoidType: as above.
  onOffline(listener: () => void): void | (() => void);
}

export interface NatterClientEvents {
  state: (state: ClientState) => void;
  /** Each event of each conversation exactly once, in seq order (own messages included, on ack). */
  event: (event: ChatEvent) => void;
  conversation: (summary: ConversationSummary) => void;
  receipt: (receipt: ReceiptUpdateFrame) => void;
  /** Your read cursor in a thread moved (here or on another of your devices). */
  threadReceipt: (receipt: ThreadReceiptFrame) => void;
  /** You hid this conversation (here or on another of your devices): drop it from your list. */
  hidden: (conversationId: string) => void;
  typing: (typing: TypingUpdateFrame) => void;
  presence: (presence: PresenceUpdateFrame) => void;
  outbox: (entry: OutboxEntry) => void;
  /** The connection gave up for good (bad token): call `connect()` again with a new token. */
  fatal: (error: NatterError) => void;
  /** A connection opened on a different transport than the one before (see `transport`). */
  transport: (transport: Transport) => void;
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
 * Sends awaiting their ack at once: enough to fill a group commit, few enough that a long offline
 * outbox does not burst past the server's per-connection frame limit on reconnect.
 */
const SEND_WINDOW = 32;

/**
 * After a `reconnect` frame or a 1012 close the server is restarting and will soon be back: retry
 * at short jittered intervals for this long before falling back to exponential backoff.
 */
const RESTART_WINDOW_MS = 60_000;

const DEFAULT_FIRST_TRANSPORT_RETRY_MS = 5 * 60_000;
/** Least time between background probes of the first transport from a working fallback. */
const MIN_UPGRADE_PROBE_MS = 1_000;

/** Longest a hole is left for our own writes' acks to fill before it is fetched anyway. */
const HOLE_GRACE_MS = 1000;

/** Before `ready` tells the real interval: the server's default ping interval. */
const DEFAULT_HEARTBEAT_INTERVAL_MS = 25_000;

/** A socket is dead once two pings in a row are missing (plus slack for a busy event loop). */
function silenceLimit(heartbeatIntervalMs: number): number {
  return heartbeatIntervalMs * 2 + 1000;
}

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
  /** When the server last said it was restarting (a `reconnect` frame or a 1012 close). */
  private restartingSince: number | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private livenessTimer: ReturnType<typeof setTimeout> | undefined;
  /** While on a fallback: when to probe the first transport in the background. */
  private upgradeTimer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private silenceLimitMs = silenceLimit(DEFAULT_HEARTBEAT_INTERVAL_MS);
  private token: string | undefined;
  private resuming: Promise<void> = Promise.resolve();
  private readonly log = new ConversationLog();
  private readonly outbox: OutboxStorage;
  /** Written but not acked yet, in the order written. */
  private readonly unsent = new Map<string, OutboxEntry>();
  /** Refused for good: kept (and shown) until the app retries or discards them. */
  private readonly failed = new Map<string, OutboxEntry>();
  private serverLimits: Limits | undefined;
  /** The client_msg_ids of `unsent` whose send is awaiting its answer. */
  private readonly inFlight = new Set<string>();
  /** Edits and deletes awaiting their ack, per conversation. */
  private readonly amendsInFlight = new Map<string, number>();
  /** When each hole left for our own writes' acks was first seen. */
  private readonly holeSeenAt = new Map<string, number>();
  private holeTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * Conversations that received events outside a sync since the last one started (live pushes, our
   * acks, fetches), most recent last: the next sync reports what we hold there (`held`), so it does
   * not send those events again.
   */
  private readonly heldSinceSync = new Set<string>();
  private userId: string;
  /** Receipt cursors waiting to go out (batched, and kept while offline). */
  private readonly deliveredUpTo = new Map<string, number>();
  private readonly readUpTo = new Map<string, number>();
  /** Thread read cursors waiting to go out, by "conversation root". */
  private readonly threadReadUpTo = new Map<
    string,
    { conversationId: string; rootSeq: number; threadSeq: number }
  >();
  private receiptTimer: ReturnType<typeof setTimeout> | undefined;
  private watched: string[] = [];
  /** Set while listening to the device's network events (from `connect()` to `close()`). */
  private unlistenNetwork: Array<() => void> | undefined;

  private readonly transports: TransportPolicy;
  private currentTransport: Transport | undefined;

  constructor(private readonly options: NatterClientOptions) {
    super();
    this.transports = new TransportPolicy(
      options.transports ?? ALL_TRANSPORTS,
      options.firstTransportRetryMs ?? DEFAULT_FIRST_TRANSPORT_RETRY_MS,
    );
    this.outbox = options.outbox ?? new MemoryOutboxStorage();
    this.userId = options.userId ?? '';
    this.token = options.syncToken;
  }

  get state(): ClientState {
    return this.currentState;
  }

  /** The transport of the last connection that opened (undefined before the first). */
  get transport(): Transport | undefined {
    return this.currentTransport;
  }

  /** The change token to save for the next session (see `syncToken`). */
  get syncToken(): string | undefined {
    return this.token;
  }

  get me(): string {
    return this.userId;
  }

  /** The limits the server announced in its last `ready` (undefined before the first connection). */
  get limits(): Limits | undefined {
    return this.serverLimits;
  }

  /** Loads unsent messages (and those refused, to show them again) from storage and connects. */
  async connect(): Promise<void> {
    for (const entry of await this.outbox.load()) {
      if (entry.state === 'failed') this.failed.set(entry.clientMsgId, entry);
      else if (entry.state === 'sending') this.unsent.set(entry.clientMsgId, entry);
      else continue;
      // A reloaded page shows what it still has to send before the connection is even up.
      this.emit('outbox', { ...entry });
    }
    this.listenToNetwork();
    this.open();
  }

  /**
   * Stops for good (until `connect()` again): sends the receipts still batched, closes the socket,
   * rejects requests awaiting answers, and clears every timer and network listener, so nothing of
   * the client is left running. Unsent messages stay in the outbox storage.
   */
  close(): void {
    this.flushReceipts();
    this.setState('closed');
    for (const timer of [this.reconnectTimer, this.retryTimer, this.receiptTimer, this.holeTimer])
      clearTimeout(timer);
    this.reconnectTimer = this.retryTimer = this.receiptTimer = this.holeTimer = undefined;
    for (const unlisten of this.unlistenNetwork ?? []) unlisten();
    this.unlistenNetwork = undefined;
    const socket = this.socket;
    this.detach();
    socket?.close(1000, 'client closed');
  }

  /** Queues a message: it shows at once as `sending`, and goes out (again) until acked. */
  async send(conversationId: string, body: string, options: SendOptions = {}): Promise<OutboxEntry> {
    const { clientMsgId = randomId(), metadata, replyTo, mentions, threadRoot, attachments } = options;
    const entry: OutboxEntry = {
      clientMsgId,
      conversationId,
      body,
      ...(metadata === undefined ? {} : { metadata }),
      ...(replyTo === undefined ? {} : { replyTo }),
      ...(threadRoot === undefined ? {} : { threadRoot }),
      ...(mentions === undefined || mentions.length === 0 ? {} : { mentions }),
      ...(attachments === undefined || attachments.length === 0 ? {} : { attachments }),
      createdAt: Date.now(),
      state: 'sending',
    };
    this.unsent.set(clientMsgId, entry);
    await this.outbox.save(entry);
    this.emit('outbox', { ...entry });
    this.pump();
    return entry;
  }

  /**
   * Sends a message the server refused (`failed`) again, as it was, with the same client_msg_id:
   * it is `sending` again, and ends `sent` or `failed` like any send. False if no such message.
   */
  async retry(clientMsgId: string): Promise<boolean> {
    const entry = this.failed.get(clientMsgId);
    if (!entry) return false;
    this.failed.delete(clientMsgId);
    const { error: _, ...again } = { ...entry, state: 'sending' as const };
    this.unsent.set(clientMsgId, again);
    await this.outbox.save(again);
    this.emit('outbox', { ...again });
    this.pump();
    return true;
  }

  /**
   * Drops a message the server refused (`failed`) from the outbox and its storage: it is emitted
   * once more as `discarded`, for the views to remove it. False if no such message.
   */
  async discard(clientMsgId: string): Promise<boolean> {
    const entry = this.failed.get(clientMsgId);
    if (!entry) return false;
    this.failed.delete(clientMsgId);
    await this.outbox.remove(clientMsgId);
    this.emit('outbox', { ...entry, state: 'discarded' });
    return true;
  }

  /**
   * Replaces the text of your message `targetSeq`. Edits need the connection (they are not queued
   * like sends): it rejects with `unavailable` when offline. The edit is emitted as an `event` on
   * its ack, as the server does not echo it to this connection.
   */
  edit(conversationId: string, targetSeq: number, body: string): Promise<AckFrame> {
    return this.amend('edit', conversationId, targetSeq, body);
  }

  /** Deletes your message `targetSeq` for everyone (a tombstone event); connection needed, like `edit`. */
  deleteMessage(conversationId: string, targetSeq: number): Promise<AckFrame> {
    return this.amend('delete', conversationId, targetSeq, null);
  }

  /**
   * Adds or removes your reaction `emoji` (one emoji) on the message `targetSeq`. Needs the
   * connection, like `edit`; the reaction event (with the new count) is emitted on its ack.
   */
  react(
    conversationId: string,
    targetSeq: number,
    emoji: string,
    action: 'add' | 'remove',
  ): Promise<AckFrame> {
    return this.annotate({
      type: 'react',
      conversation_id: conversationId,
      target_seq: targetSeq,
      emoji,
      action,
    });
  }

  /** Pins or unpins the message `targetSeq` (admins and owners in a group); connection needed. */
  pin(conversationId: string, targetSeq: number, action: 'pin' | 'unpin' = 'pin'): Promise<AckFrame> {
    return this.annotate({ type: 'pin', conversation_id: conversationId, target_seq: targetSeq, action });
  }

  /** Which of this conversation's messages should notify you; your summary's `notifications` follows. */
  async setNotifications(conversationId: string, level: NotificationLevel): Promise<void> {
    await this.request<OkFrame>({ type: 'set_notifications', conversation_id: conversationId, level });
  }

  /** Hides a group you left from your list on all your devices, until you are added again. */
  async hideConversation(conversationId: string): Promise<void> {
    await this.request<OkFrame>({ type: 'hide_conversation', conversation_id: conversationId });
  }

  /** Marks everything up to `seq` read (the server keeps the cursor and tells your other devices). */
  markRead(conversationId: string, seq: number): void {
    this.readUpTo.set(conversationId, Math.max(seq, this.readUpTo.get(conversationId) ?? 0));
    this.flushReceipts();
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

  /** A page of the thread under `rootSeq`: the replies before `beforeThreadSeq` (newest page when omitted). */
  async threadHistory(
    conversationId: string,
    rootSeq: number,
    beforeThreadSeq?: number,
    limit?: number,
  ): Promise<EventsFrame> {
    return this.request<EventsFrame>({
      type: 'thread_history',
      conversation_id: conversationId,
      root_seq: rootSeq,
      ...(beforeThreadSeq === undefined ? {} : { before_thread_seq: beforeThreadSeq }),
      ...(limit === undefined ? {} : { limit }),
    });
  }

  /**
   * Marks the thread under `rootSeq` read up to thread seq `threadSeq` (your devices hear a
   * `threadReceipt`). Like `markRead`, it waits for the connection when offline.
   */
  markThreadRead(conversationId: string, rootSeq: number, threadSeq: number): void {
    const key = `${conversationId} ${rootSeq}`;
    const known = this.threadReadUpTo.get(key);
    this.threadReadUpTo.set(key, {
      conversationId,
      rootSeq,
      threadSeq: Math.max(threadSeq, known?.threadSeq ?? 0),
    });
    this.flushReceipts();
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

  /**
   * Full-text search over the messages you may read (docs/protocol.md §6.16): the best matches
   * first, each with a plain-text snippet and highlight offsets. Pass the page's `next_cursor` as
   * `filters.cursor` (same query and filters) for the next page.
   */
  async search(query: string, filters: SearchFilters = {}): Promise<SearchResultFrame> {
    const { conversationId, senderId, after, before, limit, cursor } = filters;
    return this.request<SearchResultFrame>({
      type: 'search',
      query,
      ...(conversationId === undefined ? {} : { conversation_id: conversationId }),
      ...(senderId === undefined ? {} : { sender_id: senderId }),
      ...(after === undefined ? {} : { after: instantOf(after) }),
      ...(before === undefined ? {} : { before: instantOf(before) }),
      ...(limit === undefined ? {} : { limit }),
      ...(cursor === undefined ? {} : { cursor }),
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

  private listenToNetwork(): void {
    if (this.unlistenNetwork) return;
    const network = this.options.network ?? browserNetwork();
    // A socket on a network that is gone cannot finish a close handshake: drop it at once.
    const unlisten = [
      network?.onOffline(() => this.abandon('device offline')),
      network?.onOnline(() => this.reconnectNow()),
    ];
    this.unlistenNetwork = unlisten.filter((f): f is () => void => typeof f === 'function');
  }

  private open(): void {
    if (this.currentState === 'closed') this.currentState = 'offline';
    this.setState('connecting');
    const transport = this.transports.next();
    const socket = this.openTransport(transport);
    this.socket = socket;
    this.armLiveness();
    let opened = false;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      opened = true;
      this.transports.opened(transport);
      if (transport !== this.currentTransport) {
        this.currentTransport = transport;
        this.emit('transport', transport);
      }
      this.setState('open');
      if (transport !== this.transports.first) this.scheduleUpgrade(socket);
      void this.authenticate(socket);
    };
    socket.onmessage = (message) => {
      if (this.socket === socket) this.onFrame(String(message.data));
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      const reached = socket instanceof HttpStreamSocket && socket.reachedServer;
      if (!opened && this.transports.failed(transport, reached)) {
        // A probe of the WebSocket from a fallback failed: back to the fallback at once.
        this.detach();
        this.open();
        return;
      }
      this.onClose(event.code);
    };
    socket.onerror = () => {};
  }

  /**
   * A connection that works on a fallback is not dropped for a guess, so it would never come back
   * to the first transport (the policy tries it at a reconnect): it is probed in the background
   * instead, every `firstTransportRetryMs` (at least a second). When a probe opens, the probe is
   * closed and the client reconnects on the first transport at once; its outbox resends what was
   * unacked, idempotently.
   */
  private scheduleUpgrade(onSocket: WebSocketLike): void {
    clearTimeout(this.upgradeTimer);
    const delay = Math.max(this.transports.retryFirstMs, MIN_UPGRADE_PROBE_MS);
    this.upgradeTimer = setTimeout(() => {
      this.upgradeTimer = undefined;
      if (this.socket !== onSocket) return;
      const first = this.transports.first;
      const probe = this.openTransport(first);
      let settled = false;
      probe.onopen = () => {
        settled = true;
        probe.close(1000, 'probe');
        if (this.socket !== onSocket) return;
        this.transports.probeFirstNext();
        this.detach();
        onSocket.close(1000, `moving to ${first}`);
        this.attempt = 0;
        this.open();
      };
      probe.onclose = () => {
        if (settled) return;
        settled = true;
        if (this.socket === onSocket) this.scheduleUpgrade(onSocket);
      };
      probe.onerror = () => {};
    }, delay);
  }

  private openTransport(transport: Transport): WebSocketLike {
    if (transport === 'websocket') return (this.options.webSocket ?? globalWebSocket())(this.options.url);
    return new HttpStreamSocket(
      httpBaseOf(this.options.url),
      transport === 'sse' ? 'sse' : 'long-poll',
      this.options.fetch,
      this.options.eventStreamTimeoutMs,
    );
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
      this.serverLimits = ready.limits;
      this.silenceLimitMs = silenceLimit(ready.heartbeat_interval_ms);
      this.armLiveness();
      this.setState('syncing');
      await this.resume();
      if (this.socket !== socket) return;
      this.attempt = 0;
      this.restartingSince = undefined;
      this.setState('live');
      this.flushReceipts();
      // A new connection resends at once: a retry timer from the old one has nothing to wait for.
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.pump();
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
        if (unknown) {
          this.deliver([frame.event]);
          void this.resumeInOrder(() => this.syncAll());
        } else {
          this.deliverLive([frame.event]);
        }
        break;
      }
      case 'receipt':
        this.emit('receipt', frame);
        break;
      case 'thread_receipt':
        this.emit('threadReceipt', frame);
        break;
      case 'conversation_hidden':
        this.onHidden(frame.conversation_id);
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
        this.restartingSince ??= Date.now();
        break;
      default:
        break;
    }
  }

  private onHidden(conversationId: string): void {
    this.log.forget(conversationId);
    this.emit('hidden', conversationId);
  }

  private onClose(code: number): void {
    this.detach();
    if (this.currentState === 'closed') return;
    const fatal = FATAL_CLOSES.get(code);
    if (fatal && typeof this.options.token === 'string') {
      this.setState('closed');
      this.emit('fatal', new NatterError(fatal));
      return;
    }
    this.setState('offline');
    if (code === 1012) this.restartingSince ??= Date.now();
    const restarting =
      this.restartingSince !== undefined && Date.now() - this.restartingSince < RESTART_WINDOW_MS;
    // A restarting server is back within seconds: exponential backoff would keep clients away for
    // up to 30 s after it is healthy again, so retry at short jittered intervals instead.
    const retry = restarting ? restartRetryDelay() : backoffDelay(this.attempt++);
    const delay = Math.max(this.retryAfterMs, retry);
    this.retryAfterMs = 0;
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  /** Forgets the current socket: its late frames and close are ignored, its requests fail. */
  private detach(): void {
    clearTimeout(this.livenessTimer);
    this.livenessTimer = undefined;
    clearTimeout(this.upgradeTimer);
    this.upgradeTimer = undefined;
    this.socket = null;
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new NatterError('unavailable', 'Connection lost.'));
    }
    this.pending.clear();
  }

  /**
   * Gives up on a socket that cannot be trusted to close by itself (silent, or the network is
   * gone: its close handshake could take minutes) and goes on as if it had closed.
   */
  private abandon(reason: string): void {
    const socket = this.socket;
    if (!socket) return;
    socket.close(4000, reason);
    this.onClose(1006);
  }

  /** The server pings every heartbeat interval: a socket silent for two of them is dead. */
  private armLiveness(): void {
    clearTimeout(this.livenessTimer);
    const socket = this.socket;
    this.livenessTimer = setTimeout(() => {
      if (this.socket === socket) this.abandon('no heartbeat');
    }, this.silenceLimitMs);
  }

  private resume(): Promise<void> {
    return this.resumeInOrder(() => this.syncAll());
  }

  /**
   * Runs catch-up work one at a time, so two resumes never interleave their tokens. Work started by
   * a live frame may fail (the connection went): the next ping or reconnect catches up instead.
   */
  private resumeInOrder(work: () => Promise<void>): Promise<void> {
    const next = this.resuming.then(work, work);
    this.resuming = next.catch(() => {});
    return next;
  }

  private async syncAll(): Promise<void> {
    const listing = this.token === undefined;
    let token = this.token;
    const held = this.takeHeld();
    try {
      await this.syncPages(listing, token, held, (next) => {
        token = next;
      });
      await this.fillHoles();
    } catch (error) {
      // The token did not move: the next sync must report these again.
      for (const h of held) this.heldSinceSync.add(h.conversation_id);
      throw error;
    }
    this.token = token;
  }

  /** What we hold in conversations touched since the last sync (at most MAX_HELD, the latest). */
  private takeHeld(): Array<{ conversation_id: string; seq: number }> {
    const ids = [...this.heldSinceSync].slice(-MAX_HELD);
    this.heldSinceSync.clear();
    return ids
      .map((id) => ({ conversation_id: id, seq: this.log.releasedUpTo(id) }))
      .filter((h) => h.seq > 0);
  }

  private async syncPages(
    listing: boolean,
    since: string | undefined,
    held: Array<{ conversation_id: string; seq: number }>,
    advance: (token: string) => void,
  ): Promise<void> {
    let token = since;
    for (;;) {
      const page = await this.request<SyncResultFrame>({
        type: 'sync',
        ...(token ? { since: token } : {}),
        ...(token && held.length > 0 ? { held } : {}),
      });
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
      for (const id of page.hidden ?? []) this.onHidden(id);
      this.deliver(page.events);
      for (const id of page.truncated) await this.fetchFrom(id, this.log.releasedUpTo(id));
      token = page.token;
      advance(token);
      if (!page.has_more) return;
    }
  }

  /**
   * Fetches what is missing behind each hole, except holes our own writes awaiting their ack will
   * fill (a peer's message often arrives before the ack of ours that precedes it), for at most
   * HOLE_GRACE_MS: a client that keeps sending always has writes in flight, and a real hole must
   * not wait behind them.
   */
  private async fillHoles(): Promise<void> {
    const holes = this.log.holes();
    const open = new Set(holes.map((h) => h.conversationId));
    for (const id of this.holeSeenAt.keys()) if (!open.has(id)) this.holeSeenAt.delete(id);
    for (const hole of holes) {
      const id = hole.conversationId;
      if (hole.missing > 0 && hole.missing <= this.writesAwaitingAck(id)) {
        const seenAt = this.holeSeenAt.get(id) ?? Date.now();
        this.holeSeenAt.set(id, seenAt);
        const left = seenAt + HOLE_GRACE_MS - Date.now();
        if (left > 0) {
          this.recheckHolesIn(left);
          continue;
        }
      }
      this.holeSeenAt.delete(id);
      await this.fetchFrom(id, hole.afterSeq);
    }
  }

  private recheckHolesIn(ms: number): void {
    if (this.holeTimer !== undefined || this.currentState === 'closed') return;
    this.holeTimer = setTimeout(() => {
      this.holeTimer = undefined;
      this.fillHolesSoon();
    }, ms);
  }

  private writesAwaitingAck(conversationId: string): number {
    let count = this.amendsInFlight.get(conversationId) ?? 0;
    for (const id of this.inFlight) if (this.unsent.get(id)?.conversationId === conversationId) count += 1;
    return count;
  }

  /** Fetches behind the holes once the catch-up under way (if any) is done. */
  private fillHolesSoon(): void {
    if (this.log.holes().length > 0) void this.resumeInOrder(() => this.fillHoles());
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
      this.heldSinceSync.add(conversationId);
      after = page.events.at(-1)?.seq ?? after;
      if (!page.has_more) return;
    }
  }

  private deliver(events: ChatEvent[]): void {
    for (const event of events) {
      for (const ready of this.log.accept(event)) {
        this.emit('event', ready);
        if (ready.sender_id !== this.userId) this.noteDelivered(ready.conversation_id, ready.seq);
        else this.settleBy(ready);
      }
    }
  }

  /**
   * Our own message came back (through a sync, or a push from another connection of ours) before
   * its ack: it is stored, so the pending send is settled by it and the late ack changes nothing.
   */
  private settleBy(event: ChatEvent): void {
    const entry = event.client_msg_id === null ? undefined : this.unsent.get(event.client_msg_id);
    if (event.kind === 'message' && entry?.conversationId === event.conversation_id)
      void this.settle(entry, event.seq);
  }

  /** Marks an unsent message as stored at `seq`; false if it was settled already. */
  private async settle(entry: OutboxEntry, seq: number): Promise<boolean> {
    if (!this.unsent.delete(entry.clientMsgId)) return false;
    this.pump();
    try {
      await this.outbox.remove(entry.clientMsgId);
    } catch {
      // Left in storage, it is sent once more after a reload and deduplicated by the server.
    }
    this.emit('outbox', { ...entry, state: 'sent', seq });
    return true;
  }

  /** Delivers events seen live (a push, an ack): one beyond a hole fetches the missing range at once. */
  private deliverLive(events: ChatEvent[]): void {
    this.deliver(events);
    for (const event of events) {
      this.heldSinceSync.delete(event.conversation_id);
      this.heldSinceSync.add(event.conversation_id);
    }
    this.fillHolesSoon();
  }

  /** Delivered receipts go out batched: one per conversation per short window, for its highest seq. */
  private noteDelivered(conversationId: string, seq: number): void {
    this.deliveredUpTo.set(conversationId, Math.max(seq, this.deliveredUpTo.get(conversationId) ?? 0));
    if (this.receiptTimer !== undefined) return;
    this.receiptTimer = setTimeout(() => {
      this.receiptTimer = undefined;
      this.flushReceipts();
    }, 100);
  }

  /** Sends the waiting receipt cursors; while offline they wait for the next connection. */
  private flushReceipts(): void {
    if (this.socket?.readyState !== SOCKET_OPEN || this.currentState !== 'live') return;
    for (const [kind, upTo] of [
      ['delivered', this.deliveredUpTo],
      ['read', this.readUpTo],
    ] as const) {
      for (const [id, seq] of upTo) this.fire({ type: 'receipt', conversation_id: id, kind, seq });
      upTo.clear();
    }
    for (const { conversationId, rootSeq, threadSeq } of this.threadReadUpTo.values()) {
      this.fire({
        type: 'thread_read',
        conversation_id: conversationId,
        root_seq: rootSeq,
        thread_seq: threadSeq,
      });
    }
    this.threadReadUpTo.clear();
  }

  /**
   * Unsent messages go out in the order written, at most SEND_WINDOW awaiting their ack at once.
   * While a refused send waits to be retried, nothing newer overtakes it.
   */
  private pump(): void {
    if (this.currentState !== 'live' || this.retryTimer !== undefined) return;
    for (const entry of this.unsent.values()) {
      if (this.inFlight.size >= SEND_WINDOW) return;
      if (!this.inFlight.has(entry.clientMsgId)) void this.transmit(entry);
    }
  }

  /** One timer for every retryable refusal: when it fires, whatever is still unsent goes out again. */
  private retryLater(delayMs: number): void {
    if (this.retryTimer !== undefined || this.currentState === 'closed') return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, delayMs);
  }

  private async transmit(entry: OutboxEntry): Promise<void> {
    this.inFlight.add(entry.clientMsgId);
    try {
      // Refused here as the server would refuse it: a body past the frame limit would close the socket.
      const maxBody = this.serverLimits?.max_body_bytes;
      if (maxBody !== undefined && utf8Length(entry.body) > maxBody)
        throw new NatterError('body_too_large', `The body exceeds ${maxBody} bytes (UTF-8).`);
      const ack = await this.request<AckFrame>({
        type: 'send',
        conversation_id: entry.conversationId,
        client_msg_id: entry.clientMsgId,
        body: entry.body,
        ...(entry.metadata === undefined ? {} : { metadata: entry.metadata }),
        ...(entry.replyTo === undefined ? {} : { reply_to: entry.replyTo }),
        ...(entry.threadRoot === undefined ? {} : { thread_root: entry.threadRoot }),
        ...(entry.mentions === undefined ? {} : { mentions: entry.mentions }),
        ...(entry.attachments === undefined ? {} : { attachments: entry.attachments.map((a) => a.id) }),
      });
      this.inFlight.delete(entry.clientMsgId);
      if (!(await this.settle(entry, ack.seq))) {
        // Settled already by its event coming back through a sync: its window slot is free only
        // now, so the next sends go out from here (settle's own pump ran while it was still taken).
        this.pump();
        this.fillHolesSoon();
        return;
      }
      const own = { ...entry, kind: 'message' as const, refSeq: null };
      this.deliverLive([ack.event ?? ownEvent(own, ack, this.userId, this.options.deviceId)]);
    } catch (error) {
      this.inFlight.delete(entry.clientMsgId);
      this.fillHolesSoon();
      const code: ErrorCode = error instanceof NatterError ? error.code : 'unavailable';
      if (ERRORS[code].retryable) {
        // A lost connection resends on the next `live`; this covers refusals on a working one.
        this.retryLater(error instanceof NatterError ? (error.retryAfterMs ?? 1000) : 1000);
        return;
      }
      if (!this.unsent.delete(entry.clientMsgId)) return;
      // Refused for good: kept, in storage too, so the text is never lost; the app retries or discards it.
      const failed: OutboxEntry = {
        ...entry,
        state: 'failed',
        error: { code, message: (error as Error).message },
      };
      this.failed.set(entry.clientMsgId, failed);
      this.pump();
      this.emit('outbox', { ...failed });
      try {
        await this.outbox.save(failed);
      } catch {
        // Shown as failed now; after a reload it is sent once more and refused again.
      }
    }
  }

  private async amend(
    kind: 'edit' | 'delete',
    conversationId: string,
    targetSeq: number,
    body: string | null,
  ): Promise<AckFrame> {
    const clientMsgId = randomId();
    this.amendsInFlight.set(conversationId, (this.amendsInFlight.get(conversationId) ?? 0) + 1);
    let ack: AckFrame;
    try {
      ack = await this.request<AckFrame>({
        type: kind,
        conversation_id: conversationId,
        client_msg_id: clientMsgId,
        target_seq: targetSeq,
        ...(body === null ? {} : { body }),
      });
    } catch (error) {
      // A hole left for this write's ack is no longer filled by it.
      this.fillHolesSoon();
      throw error;
    } finally {
      this.amendDone(conversationId);
    }
    const own = { clientMsgId, conversationId, kind, body, refSeq: targetSeq };
    this.deliverLive([ownEvent(own, ack, this.userId, this.options.deviceId)]);
    return ack;
  }

  /**
   * A reaction or pin: the ack carries the stored event (a reaction's count is the server's), which
   * is delivered like an edit's. Like amends, it holds back hole-filling until its ack is in.
   */
  private async annotate(
    body: Omit<ReactFrame, 'id' | 'client_msg_id'> | Omit<PinFrame, 'id' | 'client_msg_id'>,
  ): Promise<AckFrame> {
    const { conversation_id: conversationId } = body;
    this.amendsInFlight.set(conversationId, (this.amendsInFlight.get(conversationId) ?? 0) + 1);
    let ack: AckFrame;
    try {
      ack = await this.request<AckFrame>({ ...body, client_msg_id: randomId() });
    } catch (error) {
      this.fillHolesSoon();
      throw error;
    } finally {
      this.amendDone(conversationId);
    }
    if (ack.event) this.deliverLive([ack.event]);
    return ack;
  }

  private amendDone(conversationId: string): void {
    const left = (this.amendsInFlight.get(conversationId) ?? 1) - 1;
    if (left > 0) this.amendsInFlight.set(conversationId, left);
    else this.amendsInFlight.delete(conversationId);
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

interface OwnWrite {
  clientMsgId: string;
  conversationId: string;
  kind: 'message' | 'edit' | 'delete';
  body: string | null;
  refSeq: number | null;
  metadata?: Record<string, unknown>;
  mentions?: string[];
  attachments?: AttachmentRef[];
}

/** The event our own acked write became: the server does not echo it to the sending connection. */
function ownEvent(write: OwnWrite, ack: AckFrame, userId: string, deviceId: string | undefined): ChatEvent {
  return {
    conversation_id: write.conversationId,
    seq: ack.seq,
    kind: write.kind,
    sender_id: userId,
    device_id: deviceId ?? null,
    client_msg_id: write.clientMsgId,
    body: write.body,
    ref_seq: write.refSeq,
    data: ownData(write),
    deleted: false,
    created_at: ack.created_at,
  };
}

/** The `data` the server stores for what we sent (what it derives comes back in the ack's event). */
function ownData(write: OwnWrite): ChatEvent['data'] {
  const data: NonNullable<ChatEvent['data']> = {};
  if (write.metadata !== undefined) data.metadata = write.metadata;
  if (write.mentions !== undefined && write.mentions.length > 0) data.mentions = write.mentions;
  if (write.attachments !== undefined && write.attachments.length > 0) data.attachments = write.attachments;
  return Object.keys(data).length === 0 ? null : data;
}

function browserNetwork(): NetworkSignals | undefined {
  const target = globalThis as {
    addEventListener?: (type: string, listener: () => void) => void;
    removeEventListener?: (type: string, listener: () => void) => void;
  };
  const { addEventListener: add, removeEventListener: remove } = target;
  if (typeof add !== 'function' || typeof remove !== 'function' || !('navigator' in globalThis))
    return undefined;
  const listen = (type: string, listener: () => void) => {
    add.call(globalThis, type, listener);
    return () => remove.call(globalThis, type, listener);
  };
  return {
    onOnline: (listener) => listen('online', listener),
    onOffline: (listener) => listen('offline', listener),
  };
}

/** The platform's WebSocket (browsers, Node.js 22+): what `webSocket` defaults to. */
function globalWebSocket(): WebSocketFactory {
  const Native = (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (!Native)
    throw new Error('No global WebSocket here: pass `webSocket` (e.g. the ws package in Node 20).');
  return (url) => new Native(url);
}

function randomId(): string {
  return globalThis.crypto.randomUUID();
}

/** Filters of `NatterClient.search`; times as ms since the epoch or a Date. */
export interface SearchFilters {
  conversationId?: string;
  senderId?: string;
  /** Only messages sent at or after this time. */
  after?: number | Date;
  /** Only messages sent before this time. */
  before?: number | Date;
  /** 1..50, default 20. */
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string;
}

function instantOf(time: number | Date): number {
  return typeof time === 'number' ? time : time.getTime();
}
