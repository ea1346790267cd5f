import { SOCKET_OPEN, type WebSocketLike } from './socket.js';
import { SseParser } from './sse-parser.js';

const CONNECTING = 0;
const CLOSING = 2;
const CLOSED = 3;
/** A close without a code from the server: the connection was lost (as a WebSocket reports it). */
const ABNORMAL = 1006;

export type HttpStreamMode = 'sse' | 'long-poll';

type Fetch = typeof globalThis.fetch;

/** The HTTP base of a WebSocket URL: ws://host:port/ws -> http://host:port. */
export function httpBaseOf(wsUrl: string): string {
  const url = new URL(wsUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = '';
  url.search = '';
  return url.toString().replace(/\/$/, '');
}

/**
 * The HTTP fallback transport (protocol §2.1) behind the WebSocket's interface, so the client's
 * connection logic is the same on every transport: frames go up as NDJSON POSTs (one request at a
 * time, frames queued meanwhile go together in the next), and come down as Server-Sent Events read
 * with fetch streaming, or as long polls. Each downstream request says the last frame number it
 * has, so the server replays what a cut response lost. A stream the server no longer knows (404)
 * closes like a lost socket: the client reconnects and resumes.
 */
export class HttpStreamSocket implements WebSocketLike {
  readyState = CONNECTING;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  private streamId = '';
  private last = 0;
  private queue: string[] = [];
  private posting = false;
  private readonly aborter = new AbortController();
  private readonly fetch: Fetch;
  /** Whether the server answered the opening of the stream (then only its downstream can fail). */
  reachedServer = false;

  constructor(
    private readonly base: string,
    private readonly mode: HttpStreamMode,
    fetcher?: Fetch,
    /** An event stream whose first byte takes longer is taken for one a proxy holds back. */
    private readonly firstByteTimeoutMs = 10_000,
  ) {
    this.fetch = fetcher ?? globalThis.fetch.bind(globalThis);
    void this.start();
  }

  send(data: string): void {
    if (this.readyState !== SOCKET_OPEN) throw new Error('The stream is not open.');
    this.queue.push(data);
    void this.post();
  }

  close(_code?: number, reason = ''): void {
    if (this.readyState >= CLOSING) return;
    const id = this.streamId;
    this.readyState = CLOSING;
    if (id) void this.fetch(`${this.base}/v1/stream/${id}`, { method: 'DELETE' }).catch(() => {});
    this.end(1000, reason);
  }

  private async start(): Promise<void> {
    try {
      const res = await this.fetch(`${this.base}/v1/stream`, { method: 'POST', signal: this.aborter.signal });
      if (res.status !== 201) {
        await res.body?.cancel();
        return this.end(ABNORMAL, `stream refused (${res.status})`);
      }
      this.streamId = ((await res.json()) as { stream_id: string }).stream_id;
      this.reachedServer = true;
      if (this.mode === 'sse') {
        // Only an event stream that never starts counts as held back; an open one lives on.
        const stalled = setTimeout(() => {
          if (this.readyState === CONNECTING) this.end(ABNORMAL, 'no event stream');
        }, this.firstByteTimeoutMs);
        await this.readEvents().finally(() => clearTimeout(stalled));
      } else {
        // A long poll is held until there is something to say: the stream is usable at once.
        this.opened();
        await this.poll();
      }
    } catch {
      this.end(ABNORMAL, 'stream lost');
    }
  }

  private opened(): void {
    if (this.readyState !== CONNECTING) return;
    this.readyState = SOCKET_OPEN;
    this.onopen?.({});
  }

  private async readEvents(): Promise<void> {
    while (this.readyState <= SOCKET_OPEN) {
      const res = await this.fetch(`${this.base}/v1/stream/${this.streamId}/events`, {
        headers: { accept: 'text/event-stream', 'last-event-id': String(this.last) },
        signal: this.aborter.signal,
      });
      if (res.status !== 200 || !res.body) return this.end(ABNORMAL, `stream gone (${res.status})`);
      const parser = new SseParser();
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        // The first byte is the server's opening comment: the stream carries events.
        this.opened();
        for (const event of parser.push(decoder.decode(value, { stream: true }))) {
          if (event.event === 'close') return this.closedByServer(event.data);
          if (event.id !== undefined) this.receive(Number(event.id), event.data);
        }
      }
      // The response ended (a proxy cut it): read again from the last frame seen.
    }
  }

  private async poll(): Promise<void> {
    while (this.readyState <= SOCKET_OPEN) {
      const res = await this.fetch(`${this.base}/v1/stream/${this.streamId}/poll?after=${this.last}`, {
        signal: this.aborter.signal,
      });
      if (res.status !== 200) return this.end(ABNORMAL, `stream gone (${res.status})`);
      const body = (await res.json()) as {
        frames: unknown[];
        last: number;
        close?: { code: number; reason: string };
      };
      const first = body.last - body.frames.length + 1;
      for (const [i, frame] of body.frames.entries()) this.receive(first + i, JSON.stringify(frame));
      if (body.close) return this.end(body.close.code, body.close.reason);
    }
  }

  private receive(id: number, data: string): void {
    if (!(id > this.last) || this.readyState !== SOCKET_OPEN) return;
    this.last = id;
    this.onmessage?.({ data });
  }

  private closedByServer(data: string): void {
    const close = JSON.parse(data) as { code: number; reason: string };
    this.end(close.code, close.reason);
  }

  private async post(): Promise<void> {
    if (this.posting || this.queue.length === 0) return;
    this.posting = true;
    const body = this.queue.join('\n');
    this.queue = [];
    try {
      const res = await this.fetch(`${this.base}/v1/stream/${this.streamId}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body,
        signal: this.aborter.signal,
      });
      await res.body?.cancel();
      if (res.status !== 204) return this.end(ABNORMAL, `stream gone (${res.status})`);
    } catch {
      return this.end(ABNORMAL, 'stream lost');
    } finally {
      this.posting = false;
    }
    void this.post();
  }

  private end(code: number, reason: string): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.aborter.abort();
    this.onclose?.({ code, reason });
  }
}
