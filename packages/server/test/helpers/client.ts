import { randomUUID } from 'node:crypto';
import type {
  AckFrame,
  ChatEvent,
  ErrorFrame,
  EventsFrame,
  ReadyFrame,
  ServerFrame,
  SyncResultFrame,
} from '@natter/protocol';
import WebSocket from 'ws';
import { signToken } from './server.js';

export interface CloseInfo {
  code: number;
  reason: string;
}

export interface ConnectOptions {
  /** Answer the server's `{type:'ping'}` heartbeats with `{type:'pong'}` (default true). */
  autoPong?: boolean;
  headers?: Record<string, string>;
  /** Timeout for the upgrade (ms). */
  timeoutMs?: number;
  /** The local address to connect from (any of 127/8 reaches a loopback server on Linux). */
  localAddress?: string;
}

type Waiter = {
  pred: (f: ServerFrame) => boolean;
  resolve: (f: ServerFrame) => void;
  reject: (e: Error) => void;
  from: number;
};

const DEFAULT_WAIT_MS = 3_000;

/** A request frame without its `id` (the client adds one). */
type RequestBody = { type: string; [k: string]: unknown };

/** A small WebSocket test client: records every frame, answers requests by `re`. */
export class TestClient {
  readonly frames: ServerFrame[] = [];
  /** Frames that were not JSON (should never happen). */
  readonly rawFrames: string[] = [];
  readonly closed: Promise<CloseInfo>;
  closeInfo: CloseInfo | undefined;
  ready: ReadyFrame | undefined;
  autoPong: boolean;
  private readonly waiters = new Set<Waiter>();
  private nextId = 0;

  private constructor(
    readonly ws: WebSocket,
    options: ConnectOptions,
  ) {
    this.autoPong = options.autoPong ?? true;
    this.closed = new Promise<CloseInfo>((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        for (const w of this.waiters) {
          w.reject(
            new Error(
              `socket closed (${code} ${reason.toString()}) while waiting; last frames: ${this.describeTail()}`,
            ),
          );
        }
        this.waiters.clear();
        resolve(this.closeInfo);
      });
    });
    ws.on('error', () => {
      // surfaced through 'close'
    });
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString();
      let frame: ServerFrame;
      try {
        frame = JSON.parse(text) as ServerFrame;
      } catch {
        this.rawFrames.push(text);
        return;
      }
      this.frames.push(frame);
      if (this.autoPong && frame.type === 'ping') this.sendJson({ type: 'pong' });
      const index = this.frames.length - 1;
      for (const w of this.waiters) {
        if (index >= w.from && w.pred(frame)) {
          this.waiters.delete(w);
          w.resolve(frame);
        }
      }
    });
  }

  /** Opens a socket (no auth yet). Rejects if the upgrade is refused. */
  static connect(url: string, options: ConnectOptions = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, {
        headers: options.headers,
        handshakeTimeout: options.timeoutMs ?? 5_000,
        localAddress: options.localAddress,
      });
      const client = new TestClient(ws, options);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => {
        reject(new Error(`upgrade refused: HTTP ${res.statusCode}`));
        ws.terminate();
      });
      ws.once('error', (err) => reject(err));
    });
  }

  /** Opens a socket and authenticates; rejects unless `ready` comes back. */
  static async open(
    url: string,
    userIdOrToken: { user: string } | { token: string },
    options: ConnectOptions & { deviceId?: string } = {},
  ): Promise<TestClient> {
    const client = await TestClient.connect(url, options);
    const token = 'token' in userIdOrToken ? userIdOrToken.token : await signToken(userIdOrToken.user);
    const answer = await client.auth(token, options.deviceId);
    if (answer.type !== 'ready') {
      client.terminate();
      throw new Error(`auth failed: ${JSON.stringify(answer)}`);
    }
    return client;
  }

  /** Sends the auth frame and waits for `ready` or `error`. */
  async auth(token: string, deviceId?: string): Promise<ReadyFrame | ErrorFrame> {
    const from = this.frames.length;
    const frame: Record<string, unknown> = { type: 'auth', token };
    if (deviceId !== undefined) frame.device_id = deviceId;
    this.sendJson(frame);
    const answer = (await this.waitFor((f) => f.type === 'ready' || f.type === 'error', { from })) as
      | ReadyFrame
      | ErrorFrame;
    if (answer.type === 'ready') this.ready = answer;
    return answer;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  sendJson(value: unknown): void {
    this.ws.send(JSON.stringify(value));
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /** Index of the next frame to arrive: pass as `from` to wait only for frames after now. */
  mark(): number {
    return this.frames.length;
  }

  /** Waits for a frame matching `pred` (already received from index `from`, or arriving). */
  waitFor<T extends ServerFrame = ServerFrame>(
    pred: (f: ServerFrame) => boolean,
    options: { from?: number; timeoutMs?: number; label?: string } = {},
  ): Promise<T> {
    const from = options.from ?? 0;
    for (let i = from; i < this.frames.length; i++) {
      const f = this.frames[i]!;
      if (pred(f)) return Promise.resolve(f as T);
    }
    if (this.closeInfo !== undefined) {
      return Promise.reject(
        new Error(
          `socket already closed (${this.closeInfo.code}) waiting for ${options.label ?? 'frame'}; last frames: ${this.describeTail()}`,
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_MS;
      const waiter: Waiter = {
        pred,
        from,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${options.label ?? 'frame'}; last frames: ${this.describeTail()}`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Resolves to the frames matching `pred` that arrive (from `from`) during `ms`. */
  async collectFor(
    pred: (f: ServerFrame) => boolean,
    ms: number,
    from = this.mark(),
  ): Promise<ServerFrame[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.frames.slice(from).filter(pred);
  }

  /** Sends a request frame with a fresh id and resolves to the frame answering it (`re`). */
  async request<T extends ServerFrame = ServerFrame>(frame: RequestBody, timeoutMs = 5_000): Promise<T> {
    const id = `h-${++this.nextId}-${randomUUID().slice(0, 6)}`;
    const from = this.frames.length;
    this.sendJson({ ...frame, id });
    return this.waitFor<T>((f) => 're' in f && f.re === id, {
      from,
      timeoutMs,
      label: `answer to ${frame.type} ${id}`,
    });
  }

  /**
   * Like `request`, but also accepts an `error` frame without `re` (for frames the server could not
   * validate) as the answer, so tests can check `re` themselves.
   */
  async requestLoose(frame: RequestBody, timeoutMs = 3_000): Promise<{ id: string; frame: ServerFrame }> {
    const id = `h-${++this.nextId}-${randomUUID().slice(0, 6)}`;
    const from = this.frames.length;
    this.sendJson({ ...frame, id });
    const answer = await this.waitFor(
      (f) => ('re' in f && f.re === id) || (f.type === 'error' && f.re === undefined),
      { from, timeoutMs, label: `answer to ${frame.type} ${id}` },
    );
    return { id, frame: answer };
  }

  /** send -> ack or error. */
  send(
    conversationId: string,
    body: string,
    clientMsgId: string = randomUUID(),
  ): Promise<AckFrame | ErrorFrame> {
    return this.request<AckFrame | ErrorFrame>({
      type: 'send',
      conversation_id: conversationId,
      client_msg_id: clientMsgId,
      body,
    });
  }

  /** send that must be acked. */
  async sendOk(conversationId: string, body: string, clientMsgId: string = randomUUID()): Promise<AckFrame> {
    return expectAck(await this.send(conversationId, body, clientMsgId));
  }

  history(conversationId: string, beforeSeq?: number, limit?: number): Promise<EventsFrame | ErrorFrame> {
    const frame: RequestBody = { type: 'history', conversation_id: conversationId };
    if (beforeSeq !== undefined) frame.before_seq = beforeSeq;
    if (limit !== undefined) frame.limit = limit;
    return this.request<EventsFrame | ErrorFrame>(frame);
  }

  fetch(conversationId: string, afterSeq: number, limit?: number): Promise<EventsFrame | ErrorFrame> {
    const frame: RequestBody = { type: 'fetch', conversation_id: conversationId, after_seq: afterSeq };
    if (limit !== undefined) frame.limit = limit;
    return this.request<EventsFrame | ErrorFrame>(frame);
  }

  sync(
    since?: string | null,
    limit?: number,
    held?: Array<{ conversation_id: string; seq: number }>,
  ): Promise<SyncResultFrame | ErrorFrame> {
    const frame: RequestBody = { type: 'sync' };
    if (since !== undefined) frame.since = since;
    if (limit !== undefined) frame.limit = limit;
    if (held !== undefined) frame.held = held;
    return this.request<SyncResultFrame | ErrorFrame>(frame);
  }

  /** Every event of the conversation visible to this client, paging history backwards. */
  async fullHistory(conversationId: string): Promise<ChatEvent[]> {
    const pages: ChatEvent[][] = [];
    let before: number | undefined;
    for (let guard = 0; guard < 1000; guard++) {
      const page = expectFrame(await this.history(conversationId, before, 100), 'events');
      pages.unshift(page.events);
      const first = page.events[0];
      if (!page.has_more || first === undefined) break;
      before = first.seq;
    }
    return pages.flat();
  }

  /** Live `event` frames received for a conversation, in arrival order. */
  liveEvents(conversationId?: string): ChatEvent[] {
    const out: ChatEvent[] = [];
    for (const f of this.frames) {
      if (
        f.type === 'event' &&
        (conversationId === undefined || f.event.conversation_id === conversationId)
      ) {
        out.push(f.event);
      }
    }
    return out;
  }

  /** Round trip `{type:'ping'}` -> `{type:'pong'}`: proves the socket is alive and served. */
  async pingPong(timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    const from = this.mark();
    this.sendJson({ type: 'ping' });
    await this.waitFor((f) => f.type === 'pong', { from, timeoutMs, label: 'pong' });
  }

  async close(): Promise<CloseInfo> {
    if (this.closeInfo) return this.closeInfo;
    this.ws.close(1000);
    const timeout = new Promise<CloseInfo>((resolve) =>
      setTimeout(() => {
        this.ws.terminate();
        resolve({ code: -1, reason: 'terminated' });
      }, 2_000),
    );
    return Promise.race([this.closed, timeout]);
  }

  terminate(): void {
    this.ws.terminate();
  }

  /** Resolves with the close info, or rejects if the socket is still open after `timeoutMs`. */
  async waitClosed(timeoutMs = DEFAULT_WAIT_MS): Promise<CloseInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`socket still open after ${timeoutMs} ms; last frames: ${this.describeTail()}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  describeTail(n = 6): string {
    return this.frames
      .slice(-n)
      .map((f) => JSON.stringify(f).slice(0, 300))
      .join(' | ');
  }
}

export function expectFrame<K extends ServerFrame['type']>(
  frame: ServerFrame,
  type: K,
): Extract<ServerFrame, { type: K }> {
  if (frame.type !== type) {
    throw new Error(`expected a ${type} frame, got ${JSON.stringify(frame)}`);
  }
  return frame as Extract<ServerFrame, { type: K }>;
}

export function expectAck(frame: ServerFrame): AckFrame {
  return expectFrame(frame, 'ack');
}

export function expectError(frame: ServerFrame, code?: string): ErrorFrame {
  const e = expectFrame(frame, 'error');
  if (code !== undefined && e.code !== code) {
    throw new Error(`expected error ${code}, got ${JSON.stringify(e)}`);
  }
  return e;
}

/** Attempts an upgrade and reports the HTTP status if it is refused, or 101 if it opened. */
export async function tryUpgrade(url: string, headers: Record<string, string> = {}): Promise<number> {
  return (await upgradeAnswer(url, { headers })).status;
}

/** Attempts an upgrade: 101 if it opened, or the refusal's status and headers. */
export function upgradeAnswer(
  url: string,
  options: Pick<ConnectOptions, 'headers' | 'localAddress'> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ...options, handshakeTimeout: 5_000 });
    ws.once('open', () => {
      ws.terminate();
      resolve({ status: 101, headers: {} });
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}

/** Closes every client, ignoring failures. */
export async function closeAll(clients: Array<TestClient | undefined>): Promise<void> {
  await Promise.all(clients.map((c) => (c ? c.close().catch(() => undefined) : undefined)));
}
