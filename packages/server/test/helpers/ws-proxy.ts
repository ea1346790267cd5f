import {
  type ClientRequest,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { type RawData, WebSocketServer } from 'ws';

/**
 * What the relay does with one frame: `pass` it; `drop` it silently (a lost push); `cut` the link
 * instead of forwarding it; `pass-then-cut`: forward it, and cut once it has been written (the
 * server gets a request whose answer can never arrive); `stall`: drop it and everything after,
 * both ways, without closing anything (a half-dead socket only heartbeats can detect).
 */
export type RelayVerdict = 'pass' | 'drop' | 'cut' | 'pass-then-cut' | 'stall';

/** One client connection through the relay, with its own upstream socket. */
export interface RelayLink {
  readonly id: number;
  readonly stalled: boolean;
  /** Drops both sockets at once, as a broken network would (no close frames). */
  cut(): void;
  stall(): void;
}

/** Decides the fate of each text frame; frames pass when a direction has no rule. */
export interface RelayPolicy {
  toServer?(frame: string, link: RelayLink): RelayVerdict;
  toClient?(frame: string, link: RelayLink): RelayVerdict;
}

/**
 * A WebSocket and HTTP relay between clients and a test server: its URLs stay the same while the
 * server behind it restarts on another port (`retarget`), and a policy can drop, cut or stall
 * links at chosen frames. WebSocket frames are relayed one by one, so faults land exactly between
 * two frames (for example after a `send` reached the server and before its `ack` came back).
 */
export class WsProxy {
  private readonly links = new Set<Link>();
  private readonly streamLinks = new Map<string, StreamLink>();
  /** HTTP requests being relayed (the fallback transport's streams among them), for `cutAll`. */
  private readonly exchanges = new Set<{ cut(): void }>();
  private nextId = 1;
  /** Refuses WebSocket upgrades (403), as a network that blocks WebSockets does. */
  blockWebSockets = false;
  /** Holds back event-stream responses until they end, as a buffering proxy does. */
  bufferEventStreams = false;

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    private target: string,
    readonly policy: RelayPolicy,
  ) {}

  /** Starts on an ephemeral port in front of `targetHttpUrl` (http://host:port). */
  static async start(targetHttpUrl: string, policy: RelayPolicy = {}): Promise<WsProxy> {
    const wss = new WebSocketServer({ noServer: true });
    const http = createServer();
    const proxy = new WsProxy(http, wss, targetHttpUrl, policy);
    http.on('request', (req, res) => {
      const stream = STREAM_PATH.exec(req.url ?? '');
      if (stream) {
        proxy.relayStream(stream[1]!, stream[2] ?? '', req, res);
        return;
      }
      const upstream = httpRequest(
        new URL(req.url ?? '/', proxy.target),
        { method: req.method, headers: req.headers },
        (answer) => {
          const buffered =
            proxy.bufferEventStreams &&
            String(answer.headers['content-type']).startsWith('text/event-stream');
          if (!buffered) {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
            return;
          }
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () =>
            res.writeHead(answer.statusCode ?? 502, answer.headers).end(Buffer.concat(chunks)),
          );
        },
      );
      const exchange = {
        cut() {
          upstream.destroy();
          res.destroy();
        },
      };
      proxy.exchanges.add(exchange);
      res.on('close', () => proxy.exchanges.delete(exchange));
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
      req.pipe(upstream);
    });
    http.on('upgrade', (req, socket, head) => {
      if (proxy.blockWebSockets) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (client) => proxy.accept(client, req.url ?? '/ws'));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  get wsUrl(): string {
    return `${this.httpUrl.replace('http', 'ws')}/ws`;
  }

  /** New links go to this server (old links stay where they are until they end). */
  retarget(targetHttpUrl: string): void {
    this.target = targetHttpUrl;
  }

  /** The links open now (WebSockets, and HTTP streams by their id), oldest first. */
  openLinks(): RelayLink[] {
    return [...this.links, ...this.streamLinks.values()];
  }

  /**
   * One request of an HTTP fallback stream (`/v1/stream/{id}...`): its frames meet the policy one
   * by one (POSTed NDJSON lines going up, event-stream and long-poll frames coming down), and the
   * stream's requests together form one link that can be cut or stalled.
   */
  private relayStream(id: string, tail: string, req: IncomingMessage, res: ServerResponse): void {
    let link = this.streamLinks.get(id);
    if (!link) {
      link = new StreamLink(this.nextId++, () => this.streamLinks.delete(id));
      this.streamLinks.set(id, link);
    }
    if (link.dead) {
      res.destroy();
      return;
    }
    if (link.stalled) return;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const current = link!;
      let body = Buffer.concat(chunks);
      let cutAfter = false;
      if (req.method === 'POST') {
        const kept: string[] = [];
        for (const line of body.toString('utf8').split('\n')) {
          if (line.trim() === '') continue;
          const verdict = this.policy.toServer?.(line, current) ?? 'pass';
          if (verdict === 'stall') return current.stall();
          if (verdict === 'cut') {
            cutAfter = true;
            break;
          }
          if (verdict === 'drop') continue;
          kept.push(line);
          if (verdict === 'pass-then-cut') {
            cutAfter = true;
            break;
          }
        }
        body = Buffer.from(kept.join('\n'));
      }
      const headers = { ...req.headers, 'content-length': String(body.byteLength) };
      const upstream = httpRequest(
        new URL(req.url ?? '/', this.target),
        { method: req.method, headers },
        (answer) => {
          if (cutAfter) {
            answer.resume();
            answer.on('end', () => current.cut());
            return;
          }
          if (answer.statusCode === 404 || req.method === 'DELETE') current.end();
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          if (tail === '/events' && answer.statusCode === 200)
            current.relayEvents(answer, res, this.policy, this.bufferEventStreams);
          else if (tail === '/poll' && answer.statusCode === 200) current.relayPoll(answer, res, this.policy);
          else answer.pipe(res);
        },
      );
      current.track(upstream, res);
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  }

  /** Cuts every WebSocket link and every HTTP request under way. */
  cutAll(): void {
    for (const link of this.links) link.cut();
    for (const link of this.streamLinks.values()) link.cut();
    for (const exchange of this.exchanges) exchange.cut();
  }

  async close(): Promise<void> {
    this.cutAll();
    this.wss.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private accept(client: WebSocket, path: string): void {
    const upstream = new WebSocket(new URL(path, this.target.replace('http', 'ws')));
    const link = new Link(this.nextId++, client, upstream, this.policy, () => this.links.delete(link));
    this.links.add(link);
  }
}

class Link implements RelayLink {
  stalled = false;
  private ended = false;
  /** Client frames that arrived before the upstream socket opened, in order. */
  private readonly early: string[] = [];

  constructor(
    readonly id: number,
    private readonly client: WebSocket,
    private readonly upstream: WebSocket,
    private readonly policy: RelayPolicy,
    private readonly onEnd: () => void,
  ) {
    upstream.on('open', () => {
      for (const frame of this.early.splice(0)) this.relay(frame, 'toServer');
    });
    client.on('message', (data) => {
      const frame = text(data);
      if (upstream.readyState === WebSocket.CONNECTING) this.early.push(frame);
      else this.relay(frame, 'toServer');
    });
    upstream.on('message', (data) => this.relay(text(data), 'toClient'));
    // A close from one side is passed on with its code (1012 on a restart), unless stalled.
    client.on('close', () => this.closed(upstream, 1000));
    upstream.on('close', (code) => this.closed(client, code));
    client.on('error', () => this.cut());
    upstream.on('error', () => this.cut());
  }

  cut(): void {
    this.ended = true;
    this.client.terminate();
    this.upstream.terminate();
  }

  /** Stops reading both sockets, so not even a close handshake gets an answer. */
  stall(): void {
    this.stalled = true;
    this.client.pause();
    this.upstream.pause();
  }

  private relay(frame: string, direction: 'toServer' | 'toClient'): void {
    if (this.stalled || this.ended) return;
    const to = direction === 'toServer' ? this.upstream : this.client;
    const verdict = this.policy[direction]?.(frame, this) ?? 'pass';
    if (verdict === 'drop') return;
    if (verdict === 'stall') this.stall();
    else if (verdict === 'cut') this.cut();
    else if (to.readyState === WebSocket.OPEN) {
      to.send(frame, () => {
        if (verdict === 'pass-then-cut') this.cut();
      });
    }
  }

  private closed(other: WebSocket, code: number): void {
    if (other.readyState === WebSocket.CLOSED) this.onEnd();
    // A half-dead link: the other side never learns that this one went away.
    if (this.ended || this.stalled) return;
    this.ended = true;
    if (code === 1005 || code === 1006 || other.readyState !== WebSocket.OPEN) other.terminate();
    else other.close(code);
  }
}

/** The fallback transport's paths: the stream id, and what follows it. */
const STREAM_PATH = /^\/v1\/stream\/([^/?]+)(\/events|\/poll)?/;

/** The requests of one HTTP fallback stream, cut or stalled together like one socket. */
class StreamLink implements RelayLink {
  stalled = false;
  dead = false;
  private readonly requests = new Set<{ upstream: ClientRequest; res: ServerResponse }>();

  constructor(
    readonly id: number,
    private readonly onEnd: () => void,
  ) {}

  track(upstream: ClientRequest, res: ServerResponse): void {
    const request = { upstream, res };
    this.requests.add(request);
    res.on('close', () => this.requests.delete(request));
  }

  /** The stream ended normally (closed by the client, or unknown to the server). */
  end(): void {
    this.onEnd();
  }

  cut(): void {
    this.dead = true;
    for (const { upstream, res } of this.requests) {
      upstream.destroy();
      res.destroy();
    }
    this.onEnd();
  }

  /** Nothing more goes either way, and nothing is closed: requests hang. */
  stall(): void {
    this.stalled = true;
  }

  /** Relays an event stream block by block; `held`: all of it at once when it ends, as a buffering proxy does. */
  relayEvents(answer: IncomingMessage, res: ServerResponse, policy: RelayPolicy, held: boolean): void {
    let buffer = '';
    answer.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      if (held) return;
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end + 2);
        buffer = buffer.slice(end + 2);
        if (!this.forward(block, frameOf(block), res, policy)) return;
        end = buffer.indexOf('\n\n');
      }
    });
    answer.on('end', () => {
      if (held) {
        for (const block of buffer.split(/(?<=\n\n)/))
          if (!this.forward(block, frameOf(block), res, policy)) return;
      }
      if (!this.dead && !this.stalled) res.end();
    });
  }

  relayPoll(answer: IncomingMessage, res: ServerResponse, policy: RelayPolicy): void {
    const chunks: Buffer[] = [];
    answer.on('data', (chunk: Buffer) => chunks.push(chunk));
    answer.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { frames: unknown[] };
      for (const frame of body.frames) {
        const verdict = policy.toClient?.(JSON.stringify(frame), this) ?? 'pass';
        if (verdict === 'stall') return this.stall();
        if (verdict === 'cut') return this.cut();
        // Frames are numbered by position here: one cannot go missing alone.
        if (verdict === 'drop') throw new Error('the long-poll relay cannot drop a single frame');
      }
      res.end(JSON.stringify(body));
    });
  }

  /** Writes one event-stream block unless the policy says otherwise; false once the link is over. */
  private forward(block: string, frame: string | null, res: ServerResponse, policy: RelayPolicy): boolean {
    if (this.dead || this.stalled) return false;
    const verdict = frame === null ? 'pass' : (policy.toClient?.(frame, this) ?? 'pass');
    if (verdict === 'stall') {
      this.stall();
      return false;
    }
    if (verdict === 'cut') {
      this.cut();
      return false;
    }
    if (verdict === 'drop') return true;
    res.write(block);
    if (verdict === 'pass-then-cut') {
      this.cut();
      return false;
    }
    return true;
  }
}

/** The frame an event-stream block carries (a `data` line without an `event` name), else null. */
function frameOf(block: string): string | null {
  if (/^event:/m.test(block)) return null;
  const data = /^data: ?(.*)$/m.exec(block);
  return data ? data[1]! : null;
}

function text(data: RawData): string {
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
}
