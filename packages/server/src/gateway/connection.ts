import {
  closeCodeOf,
  ERRORS,
  type ErrorCode,
  type ErrorFrame,
  type NatterError,
  type ServerFrame,
} from '@natter/protocol';
import type { TokenBucket } from '../limits/token-bucket.js';
import type { Metrics } from '../metrics.js';
import type { PresenceWatcher } from '../presence/presence-service.js';
import type { HasDeadline } from './connection-deadlines.js';
import { type FrameData, type Inbound, OPEN, type Socket } from './socket.js';
import type { Corkable, WriteBatcher } from './write-batcher.js';

/** authenticating: waiting for the auth frame; verifying: checking its token; open: authenticated. */
export type ConnectionState = 'authenticating' | 'verifying' | 'open' | 'closed';

/**
 * Where a connection's transport events go: one object (the gateway) for every connection, so that
 * a connection costs no closures of its own.
 */
export interface ConnectionEvents {
  message(connection: Connection, data: FrameData, isBinary: boolean): void;
  closed(connection: Connection): void;
}

/**
 * One client socket: its identity once authenticated, its liveness, and its bounded outbound path.
 * It is also what its transport reports to (Inbound), passing each event on to the gateway. Idle
 * servers hold tens of thousands of these: every field costs that many times over.
 */
export class Connection implements PresenceWatcher, Inbound, HasDeadline {
  state: ConnectionState = 'authenticating';
  userId = '';
  deviceId: string | null = null;
  sessionKey = '';
  lastHeardAt = Date.now();
  nextPingAt = 0;
  /** The change token of the last ping sent, repeated while a new one cannot be computed. */
  lastPingToken: string | undefined;
  invalidFrames = 0;
  /** Requests received and not yet answered; `readsInFlight` of them sync, fetch, history or thread_history. */
  inFlight = 0;
  readsInFlight = 0;
  /** Frames pipelined behind the auth frame while its token is checked; replayed once ready. */
  backlog: Array<{ data: FrameData; isBinary: boolean }> | undefined;
  /** The client address it is counted under among the unauthenticated sockets, while it is. */
  preAuthAddress: string | undefined;
  /**
   * When it times out: the auth timeout while authenticating, its token's expiry once open
   * (ConnectionDeadlines keeps both, on one timer for all connections).
   */
  deadline = 0;
  deadlineSlot = -1;

  constructor(
    readonly id: string,
    private readonly events: ConnectionEvents,
    private readonly socket: Socket,
    private readonly transport: Corkable,
    private readonly batcher: WriteBatcher,
    readonly frameBucket: TokenBucket,
    private readonly maxBufferedBytes: number,
    private readonly metrics: Metrics,
  ) {}

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Inbound: a frame from the transport. */
  message(data: FrameData, isBinary: boolean): void {
    this.events.message(this, data, isBinary);
  }

  /** Inbound: the transport is gone. */
  closed(): void {
    this.events.closed(this);
  }

  send(frame: ServerFrame): void {
    this.sendText(JSON.stringify(frame));
  }

  /**
   * Writes an already-serialized frame. A peer that leaves more than maxBufferedBytes unsent from
   * earlier turns is cut off (slow_consumer): it resumes from its token, and the server's memory
   * stays bounded. What this turn writes is not counted yet: it is corked until the turn ends.
   */
  sendText(frame: string): void {
    if (this.socket.readyState !== OPEN) return;
    if (this.batcher.corkForTurn(this.transport) && this.socket.bufferedAmount > this.maxBufferedBytes) {
      this.closeWith('slow_consumer');
      return;
    }
    this.socket.send(frame);
    this.metrics.framesOut.inc();
  }

  sendError(error: NatterError, re?: string): void {
    this.metrics.errors.inc({ code: error.code });
    const frame: ErrorFrame = {
      type: 'error',
      code: error.code,
      message: error.message,
      retryable: error.retryable,
      ...(re === undefined ? {} : { re }),
      ...(error.retryAfterMs === undefined ? {} : { retry_after_ms: error.retryAfterMs }),
    };
    this.send(frame);
  }

  /** Closes with the error's close code; the socket is cut if the peer does not finish the handshake. */
  closeWith(code: ErrorCode, message?: string): void {
    this.close(closeCodeOf(code) ?? 1011, message ?? ERRORS[code].message);
  }

  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.metrics.closes.inc({ code: String(code) });
    this.socket.close(code, reason.slice(0, 120));
    setTimeout(() => this.socket.terminate(), 2000).unref();
  }
}
