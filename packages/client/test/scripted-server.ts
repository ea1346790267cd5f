import type { ChatEvent, ConversationSummary, ServerFrame } from '@natter/protocol';
import { SOCKET_OPEN, type WebSocketLike } from '../src/socket.js';

/** A client frame as the fake server sees it. */
export type ClientFrame = { type: string; id?: string; [field: string]: unknown };

/** Answers one request, or undefined to leave it unanswered. */
export type Answer = (frame: ClientFrame) => ServerFrame | undefined;

/**
 * A WebSocket the test drives by hand: it opens, talks and dies only when told, so that timers
 * (backoff, heartbeats, batching) can be checked with fake time.
 */
export class FakeSocket implements WebSocketLike {
  readyState = 0;
  readonly sent: ClientFrame[] = [];
  closedWith: { code: number | undefined; reason: string | undefined } | undefined;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(private readonly answer: Answer) {}

  send(data: string): void {
    const frame = JSON.parse(data) as ClientFrame;
    this.sent.push(frame);
    const reply = this.answer(frame);
    if (reply) queueMicrotask(() => this.push(reply));
  }

  /** Only records the close: the test decides whether the close event ever comes (`drop`). */
  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
  }

  accept(): void {
    this.readyState = SOCKET_OPEN;
    this.onopen?.({});
  }

  push(frame: ServerFrame): void {
    if (this.readyState === SOCKET_OPEN) this.onmessage?.({ data: JSON.stringify(frame) });
  }

  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }

  sentOf(type: string): ClientFrame[] {
    return this.sent.filter((f) => f.type === type);
  }
}

/**
 * A server that answers auth, sync, fetch and send the simplest way: `ready` (with the given
 * heartbeat interval), an empty sync, empty fetches, and acks with rising seqs. `override` answers
 * first (return null to leave a request unanswered).
 */
export function scriptedServer(
  options: {
    heartbeatIntervalMs?: number;
    override?: (frame: ClientFrame) => ServerFrame | null | undefined;
  } = {},
) {
  const sockets: FakeSocket[] = [];
  let seq = 1;
  const answer: Answer = (frame) => {
    const re = frame.id ?? '';
    const overridden = options.override?.(frame);
    if (overridden !== undefined) return overridden ?? undefined;
    switch (frame.type) {
      case 'auth':
        return {
          type: 'ready',
          re,
          user_id: 'me',
          device_id: null,
          connection_id: `c${sockets.length}`,
          heartbeat_interval_ms: options.heartbeatIntervalMs ?? 25_000,
          heartbeat_timeout_ms: 60_000,
          server_time: 0,
          limits: { max_frame_bytes: 65536, max_body_bytes: 16384, sends_per_second: 50, send_burst: 200 },
        };
      case 'sync':
        return {
          type: 'sync_result',
          re,
          conversations: [],
          events: [],
          truncated: [],
          token: 't',
          has_more: false,
        };
      case 'fetch':
        return {
          type: 'events',
          re,
          conversation_id: String(frame.conversation_id),
          events: [],
          has_more: false,
        };
      case 'send':
        seq += 1;
        return {
          type: 'ack',
          re,
          conversation_id: String(frame.conversation_id),
          client_msg_id: String(frame.client_msg_id),
          seq,
          created_at: 0,
          duplicate: false,
        };
      default:
        return undefined;
    }
  };
  return {
    sockets,
    factory: () => {
      const socket = new FakeSocket(answer);
      sockets.push(socket);
      return socket;
    },
    /** The newest socket. */
    get last(): FakeSocket {
      const socket = sockets.at(-1);
      if (!socket) throw new Error('no socket opened yet');
      return socket;
    },
  };
}

export function messageEvent(conversationId: string, seq: number, senderId = 'peer'): ChatEvent {
  return {
    conversation_id: conversationId,
    seq,
    kind: 'message',
    sender_id: senderId,
    device_id: null,
    client_msg_id: `m${seq}`,
    body: `#${seq}`,
    ref_seq: null,
    data: null,
    deleted: false,
    created_at: 0,
  };
}

export function summaryOf(conversationId: string, lastSeq: number, kind: 'direct' | 'group' = 'direct') {
  return {
    conversation_id: conversationId,
    kind,
    title: kind === 'group' ? 'group' : null,
    peer_id: kind === 'direct' ? 'peer' : null,
    role: 'member' as const,
    member_count: 2,
    last_seq: lastSeq,
    joined_seq: 1,
    left_seq: null,
    read_seq: lastSeq,
    delivered_seq: lastSeq,
    unread: 0,
    mentions: 0,
    pinned: [],
    notifications: 'all' as const,
    thread_unread: 0,
    group_mentions: 'anyone' as const,
    posting: 'everyone' as const,
    peers_read_seq: lastSeq,
    peers_delivered_seq: lastSeq,
    last_message: null,
    created_at: 0,
    updated_at: 0,
  };
}

/** A one-page `sync_result` answering `frame`, with these summaries and (optionally) events and token. */
export function syncAnswer(
  frame: ClientFrame,
  conversations: ConversationSummary[],
  options: { events?: ChatEvent[]; token?: string } = {},
): ServerFrame {
  return {
    type: 'sync_result',
    re: frame.id ?? '',
    conversations,
    events: options.events ?? [],
    truncated: [],
    token: options.token ?? 't',
    has_more: false,
  };
}
