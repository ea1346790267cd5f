import type { ServerResponse } from 'node:http';
import type { Clock, Timer } from '../clock.js';
import { OPEN, type Socket } from './socket.js';
import type { Corkable } from './write-batcher.js';

const CLOSING = 2;
const CLOSED = 3;
/** A comment line every this long keeps proxies from timing out a quiet event stream. */
const SSE_KEEPALIVE_MS = 15_000;

interface Frame {
  id: number;
  text: string;
}

type Attached =
  | { kind: 'sse'; response: ServerResponse; keepalive: Timer }
  | { kind: 'poll'; response: ServerResponse; timeout: Timer; after: number };

/**
 * The server side of one HTTP fallback connection (docs/protocol.md §2.1): a `Socket` the gateway
 * writes frames to like a WebSocket, and at most one attached response (an event stream, or a
 * long poll) that carries them. Frames are numbered; those written to a response are kept until a
 * later request acknowledges them (`after`), so a response cut mid-way is replayed without loss or
 * duplicate. What is neither written nor acknowledged counts as `bufferedAmount`, so a client that
 * stops fetching is a slow consumer exactly as over a socket.
 */
export class HttpStream implements Socket, Corkable {
  readyState = OPEN;
  /** Written to a response, not yet acknowledged. */
  private sent: Frame[] = [];
  private sentBytes = 0;
  /** Not written to any response yet. */
  private pending: Frame[] = [];
  private pendingBytes = 0;
  private nextId = 1;
  private attached: Attached | null = null;
  private corked = false;
  private closeInfo: { code: number; reason: string } | null = null;
  /** Told once when the connection ends, whichever side ended it. */
  onEnded: (() => void) | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly pollTimeoutMs: number,
    /** Acknowledged frames are freed; unacknowledged ones beyond this are not kept for replay. */
    private readonly maxReplayBytes: number,
  ) {}

  get bufferedAmount(): number {
    return this.pendingBytes + (this.attached?.response.writableLength ?? 0);
  }

  get ended(): boolean {
    return this.readyState === CLOSED;
  }

  send(text: string): void {
    if (this.readyState !== OPEN) return;
    this.pending.push({ id: this.nextId++, text });
    this.pendingBytes += text.length;
    if (!this.corked) this.flush();
  }

  cork(): void {
    this.corked = true;
  }

  uncork(): void {
    this.corked = false;
    this.flush();
  }

  /** The server closes: the close goes to the client after the frames before it. */
  close(code: number, reason: string): void {
    if (this.readyState !== OPEN) return;
    this.readyState = CLOSING;
    this.closeInfo = { code, reason };
    this.flush();
  }

  /** Ends the connection now: any attached response is ended, and the stream is forgotten. */
  terminate(): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.detach();
    this.onEnded?.();
  }

  /**
   * Attaches a response (a new one replaces the one before). Frames up to `after` are
   * acknowledged; false when frames after it are no longer held (the caller answers 404 and the
   * client resumes on a new stream).
   */
  attach(kind: 'sse' | 'poll', response: ServerResponse, after: number): boolean {
    if (!this.acknowledge(after)) return false;
    this.detach();
    // Unacknowledged frames go again, ahead of the new ones.
    this.pending = [...this.sent, ...this.pending];
    this.pendingBytes += this.sentBytes;
    this.sent = [];
    this.sentBytes = 0;
    if (kind === 'sse') {
      response.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        'X-Accel-Buffering': 'no',
      });
      response.write(': stream\n\n');
      const keepalive = this.clock.every(SSE_KEEPALIVE_MS, () => response.write(': keepalive\n\n'));
      this.attached = { kind, response, keepalive };
    } else {
      const timeout = this.clock.after(this.pollTimeoutMs, () => this.answerPoll());
      this.attached = { kind, response, timeout, after };
    }
    response.once('close', () => {
      if (this.attached?.response === response) this.detach();
    });
    this.flush();
    return true;
  }

  private acknowledge(after: number): boolean {
    const firstHeld = this.sent[0]?.id ?? this.pending[0]?.id ?? this.nextId;
    if (after + 1 < firstHeld || after >= this.nextId) return false;
    while (this.sent[0] && this.sent[0].id <= after) this.sentBytes -= this.sent.shift()!.text.length;
    return true;
  }

  private flush(): void {
    const attached = this.attached;
    if (!attached || (this.pending.length === 0 && this.closeInfo === null)) return;
    if (attached.kind === 'poll') {
      this.answerPoll();
      return;
    }
    let chunk = '';
    for (const frame of this.pending) chunk += `id: ${frame.id}\ndata: ${frame.text}\n\n`;
    this.keep(this.pending);
    if (this.closeInfo) chunk += `event: close\ndata: ${JSON.stringify(this.closeInfo)}\n\n`;
    attached.response.write(chunk);
    if (this.closeInfo) this.finish();
  }

  private answerPoll(): void {
    const attached = this.attached;
    if (attached?.kind !== 'poll') return;
    const frames = this.pending;
    const last = frames.at(-1)?.id ?? this.nextId - 1;
    const body = `{"frames":[${frames.map((f) => f.text).join(',')}],"last":${last}${
      this.closeInfo ? `,"close":${JSON.stringify(this.closeInfo)}` : ''
    }}`;
    this.keep(frames);
    attached.timeout.cancel();
    this.attached = null;
    attached.response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    attached.response.end(body);
    if (this.closeInfo) this.finish();
  }

  /** Moves written frames to `sent`, dropping the oldest beyond the replay bound. */
  private keep(frames: Frame[]): void {
    for (const frame of frames) {
      this.sent.push(frame);
      this.sentBytes += frame.text.length;
    }
    this.pending = [];
    this.pendingBytes = 0;
    while (this.sentBytes > this.maxReplayBytes && this.sent.length > 0)
      this.sentBytes -= this.sent.shift()!.text.length;
  }

  /** The close has been handed to the client: the connection is over. */
  private finish(): void {
    this.detach();
    this.terminate();
  }

  private detach(): void {
    const attached = this.attached;
    if (!attached) return;
    this.attached = null;
    if (attached.kind === 'sse') {
      attached.keepalive.cancel();
      attached.response.end();
    } else {
      attached.timeout.cancel();
      if (!attached.response.headersSent) {
        attached.response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
        // Replaced by a newer request: nothing more is acknowledged by this answer.
        attached.response.end(`{"frames":[],"last":${attached.after}}`);
      }
    }
  }
}
