import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  type AuthFrame,
  CLIENT_FRAME_TYPES,
  ClientFrame,
  closeCodeOf,
  describeInvalid,
  NatterError,
  type ReadyFrame,
  type ServerPingFrame,
  toNatterError,
} from '@natter/protocol';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import type { TokenVerifier } from '../auth/token-verifier.js';
import type { ChannelAudience } from '../chat/channel-audience.js';
import type { Actor } from '../chat/chat-service.js';
import type { ConversationService } from '../chat/conversation-service.js';
import type { Clock, Timer } from '../clock.js';
import type { ConnectionRegistry } from '../cluster/connection-registry.js';
import type { Config } from '../config.js';
import { clientAddressOf, type TrustedProxy } from '../limits/client-address.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../limits/json-depth.js';
import { KeyedRateLimit } from '../limits/keyed-rate-limit.js';
import { PreAuthAdmission } from '../limits/pre-auth-admission.js';
import { TokenBucket } from '../limits/token-bucket.js';
import type { Metrics } from '../metrics.js';
import type { PresenceService } from '../presence/presence-service.js';
import type { PresenceStore } from '../presence/presence-store.js';
import { Connection, type ConnectionEvents } from './connection.js';
import { ConnectionDeadlines } from './connection-deadlines.js';
import type { ConnectionHub } from './connection-hub.js';
import type { createFrameRouter } from './frame-router.js';
import { isOriginAllowed } from './origin-policy.js';
import type { FrameData, Inbound, Socket } from './socket.js';
import { type Corkable, WriteBatcher } from './write-batcher.js';

export interface GatewayDeps {
  config: Config;
  hub: ConnectionHub;
  /** Learns a user's channels when their first connection here opens, forgets them at their last. */
  channels: Pick<ChannelAudience, 'userOnline' | 'userOffline'>;
  /** In a cluster: tells the other nodes which users have connections here. */
  registry?: ConnectionRegistry;
  /** In a cluster: tells the other nodes which sessions have connections here (for push). */
  sessions?: ConnectionRegistry;
  verifier: TokenVerifier;
  route: ReturnType<typeof createFrameRouter>;
  presenceStore: PresenceStore;
  presence: PresenceService;
  conversations: ConversationService;
  metrics: Metrics;
  log: Logger;
  /** Which peers' X-Forwarded-For names the client address (NATTER_TRUST_PROXY). */
  trustProxy: TrustedProxy;
  /** Time for heartbeats, auth and token expiry, and the rate limits. */
  clock: Clock;
}

const SEND_TYPES = new Set(['send', 'edit', 'delete', 'react', 'pin']);
const READ_TYPES = new Set(['sync', 'fetch', 'history', 'thread_history', 'search']);
const MAX_BACKLOG = 32;
/** Where a WebSocket keeps the connection it reports to (shared listeners find it through `this`). */
const CONNECTION = Symbol('natter.connection');
type TaggedSocket = WebSocket & { [CONNECTION]: Inbound };

/**
 * The WebSocket gateway: upgrade checks, the auth handshake, frame validation and limits,
 * heartbeats, and draining. It turns frames into service calls and errors into error frames; it
 * never touches storage.
 */
export class Gateway implements ConnectionEvents {
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  /** Auth timeouts and token expiries of every connection, on one timer. */
  private readonly deadlines: ConnectionDeadlines<Connection>;
  /** The listeners of every WebSocket: shared, so that a socket costs no closures of its own. */
  private readonly onSocketMessage: (this: WebSocket, data: FrameData, isBinary: boolean) => void;
  private readonly onSocketClose: (this: WebSocket) => void;
  private readonly onSocketError: (error: Error) => void;
  /** Per user, across all their connections and reconnects. */
  private readonly sendLimit: KeyedRateLimit;
  private readonly batcher = new WriteBatcher();
  private readonly heartbeatTimer: Timer;
  private readonly unauthenticated: PreAuthAdmission;
  private draining = false;

  constructor(private readonly deps: GatewayDeps) {
    const { config } = deps;
    this.unauthenticated = new PreAuthAdmission(config.maxUnauthenticated, config.maxUnauthenticatedPerIp);
    this.sendLimit = new KeyedRateLimit(config.sendsPerSecond, config.sendBurst, { clock: deps.clock });
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.maxFrameBytes,
      perMessageDeflate: config.perMessageDeflate,
      clientTracking: false,
    });
    const tick = Math.max(10, Math.min(1000, Math.floor(config.pingIntervalMs / 5)));
    this.heartbeatTimer = deps.clock.every(tick, () => this.heartbeat());
    this.deadlines = new ConnectionDeadlines(deps.clock, (connection) =>
      connection.closeWith(connection.state === 'authenticating' ? 'auth_timeout' : 'token_expired'),
    );
    this.onSocketMessage = function (this: WebSocket, data: FrameData, isBinary: boolean) {
      (this as TaggedSocket)[CONNECTION].message(data, isBinary);
    };
    this.onSocketClose = function (this: WebSocket) {
      (this as TaggedSocket)[CONNECTION].closed();
    };
    // ws has already answered protocol errors (1009 for oversize frames, 1002, 1007) by closing.
    this.onSocketError = (error) => this.deps.log.debug({ err: error }, 'socket error');
  }

  /** For the HTTP server's `upgrade` event. Rejections are plain HTTP answers before the upgrade. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/ws') {
      reject(socket, 404, 'Not Found');
      return;
    }
    const admission = this.admit(request);
    if ('status' in admission) {
      reject(socket, admission.status, admission.status === 403 ? 'Forbidden' : 'Service Unavailable', {
        ...(admission.status === 503 ? { 'Retry-After': '5' } : {}),
      });
      return;
    }
    // ws calls back synchronously, so no other upgrade is admitted before this one is counted.
    const { address } = admission;
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      (ws as TaggedSocket)[CONNECTION] = this.accept(ws, transportOf(ws), address);
      ws.on('message', this.onSocketMessage);
      ws.on('close', this.onSocketClose);
      ws.on('error', this.onSocketError);
    });
  }

  /**
   * Whether a new connection may open (a WebSocket upgrade, or an HTTP stream): the Origin policy,
   * draining, and the caps on unauthenticated connections. The caller then accepts it at once
   * (in the same turn), so that no other is admitted before this one is counted.
   */
  admit(request: IncomingMessage): { address: string } | { status: 403 | 503 } {
    const address = clientAddressOf(request, this.deps.trustProxy);
    if (!isOriginAllowed(request, this.deps.config.allowedOrigins)) return { status: 403 };
    if (this.draining || !this.unauthenticated.admits(address)) return { status: 503 };
    return { address };
  }

  get openConnections(): number {
    return this.connections.size;
  }

  /** Closes every socket that authenticated with this session (logout). */
  closeSession(sessionKey: string): void {
    for (const connection of this.connections) {
      if (connection.sessionKey === sessionKey) connection.closeWith('token_expired', 'Logged out.');
    }
  }

  /**
   * Stops accepting and refuses new requests (server_draining); waits for `settle` (the writes
   * already accepted) and for the requests under way to be answered; then tells every client to
   * come back after a random delay (so they do not all return at once) and closes. Resolves when
   * the sockets are gone (or after a grace period).
   */
  async drain(settle: () => Promise<void>): Promise<void> {
    this.draining = true;
    this.heartbeatTimer.cancel();
    // New requests are refused (server_draining) from here; those under way finish and are answered.
    await settle();
    await until(() => [...this.connections].every((c) => c.inFlight === 0), 2000);
    for (const connection of this.connections) {
      const delay = Math.floor(Math.random() * this.deps.config.drainMaxDelayMs);
      connection.send({ type: 'reconnect', reason: 'server_draining', retry_after_ms: delay });
      connection.closeWith('server_draining');
    }
    await until(() => this.connections.size === 0, 3000);
    this.wss.close();
  }

  /**
   * Takes on a connection a transport opened (after `admit`): from here the WebSocket and the
   * HTTP stream share the auth handshake, validation, limits, heartbeats and draining. The
   * transport feeds what it receives to the answer's hooks.
   */
  accept(socket: Socket, transport: Corkable, address: string): Inbound {
    const { config, metrics, clock } = this.deps;
    const connection = new Connection(
      randomBytes(9).toString('base64url'),
      this,
      socket,
      transport,
      this.batcher,
      new TokenBucket(config.framesPerSecond, config.frameBurst, clock),
      config.maxBufferedBytes,
      metrics,
    );
    this.connections.add(connection);
    this.unauthenticated.add(address);
    connection.preAuthAddress = address;
    metrics.connections.inc({ state: 'authenticating' });
    this.deadlines.set(connection, clock.now() + config.authTimeoutMs);
    return connection;
  }

  /** ConnectionEvents: a frame from a connection's transport. */
  message(connection: Connection, data: FrameData, isBinary: boolean): void {
    if (connection.state === 'closed') return;
    if (connection.state === 'verifying') {
      connection.backlog ??= [];
      connection.backlog.push({ data, isBinary });
      if (connection.backlog.length > MAX_BACKLOG) connection.closeWith('policy_violation');
      return;
    }
    connection.lastHeardAt = this.deps.clock.now();
    if (connection.state === 'open')
      void this.deps.presenceStore.beat(connection.userId, connection.lastHeardAt);
    // Parsed before the rate check so that a refused request is still answered with its id.
    const parsed = isBinary ? BINARY_FRAME : parseFrame(data);
    const limited = connection.frameBucket.take();
    if (!limited.ok) {
      this.deps.metrics.framesIn.inc({ type: 'rate_limited' });
      const re = 'error' in parsed ? parsed.re : requestIdOf(parsed);
      connection.sendError(
        new NatterError('rate_limited', undefined, { retryAfterMs: limited.retryAfterMs }),
        re,
      );
      return;
    }
    if ('error' in parsed) {
      this.invalid(connection, parsed.error, parsed.re);
    } else if (connection.state === 'authenticating') {
      this.deps.metrics.framesIn.inc({ type: parsed.type });
      if (parsed.type === 'auth') void this.authenticate(connection, parsed);
      else this.invalid(connection, new NatterError('unauthenticated'), requestIdOf(parsed));
    } else if (parsed.type === 'auth') {
      this.invalid(connection, new NatterError('already_authenticated'), parsed.id);
    } else if (this.draining) {
      const retryAfterMs = Math.floor(Math.random() * this.deps.config.drainMaxDelayMs);
      connection.sendError(
        new NatterError('server_draining', undefined, { retryAfterMs }),
        requestIdOf(parsed),
      );
    } else if (READ_TYPES.has(parsed.type) && connection.readsInFlight >= this.deps.config.maxReadsInFlight) {
      // A read holds its (possibly large) answer in memory until sent: a bounded number per
      // connection keeps a pipelining client from making the server allocate without limit.
      const error = new NatterError('rate_limited', 'Too many reads in flight.', { retryAfterMs: 50 });
      connection.sendError(error, requestIdOf(parsed));
    } else {
      this.deps.metrics.framesIn.inc({ type: parsed.type });
      const read = READ_TYPES.has(parsed.type);
      if (read) connection.readsInFlight += 1;
      connection.inFlight += 1;
      void this.request(connection, parsed).finally(() => {
        connection.inFlight -= 1;
        if (read) connection.readsInFlight -= 1;
      });
    }
  }

  private async request(connection: Connection, frame: Exclude<ClientFrame, AuthFrame>): Promise<void> {
    const re = requestIdOf(frame);
    const started = performance.now();
    try {
      if (SEND_TYPES.has(frame.type)) this.sendLimit.take(connection.userId);
      const actor: Actor = {
        userId: connection.userId,
        deviceId: connection.deviceId,
        connectionId: connection.id,
      };
      const answer = await this.deps.route(frame, actor, connection);
      if (answer) connection.send(answer);
      const seconds = (performance.now() - started) / 1000;
      if (answer?.type === 'ack') this.deps.metrics.ackLatency.observe(seconds);
      else if (READ_TYPES.has(frame.type))
        this.deps.metrics.readLatency.observe({ type: frame.type }, seconds);
    } catch (thrown) {
      const error = toNatterError(thrown);
      if (error.code === 'internal')
        this.deps.log.error({ err: thrown, frame: frame.type }, 'request failed');
      connection.sendError(error, re);
    }
  }

  private async authenticate(connection: Connection, frame: AuthFrame): Promise<void> {
    const { config, hub, verifier, metrics, presenceStore, clock } = this.deps;
    this.deadlines.clear(connection);
    connection.state = 'verifying';
    let userId: string;
    try {
      const identity = await verifier.verify(frame.token);
      userId = identity.userId;
      if (hub.countFor(userId) >= config.maxConnectionsPerUser) throw new NatterError('too_many_connections');
      if (connection.isClosed) return;
      connection.sessionKey = identity.sessionKey;
      if (identity.expiresAt !== null) this.deadlines.set(connection, identity.expiresAt);
    } catch (thrown) {
      const error = toNatterError(thrown);
      if (connection.isClosed) return;
      connection.sendError(error, frame.id);
      // An auth error that names its own close code (token_expired, too_many_connections) uses it.
      // A retryable one without (`unavailable`: a session token cannot be looked up while the
      // database is down) closes with 1011, reconnect with backoff: closing it as auth_failed
      // (4001, "do not reconnect with this token") made clients with a built-in session token give
      // up for good over a database restart (found by test/faults/postgres-restart.test.ts).
      const closeAs = closeCodeOf(error.code) !== undefined || error.retryable ? error.code : 'auth_failed';
      connection.closeWith(closeAs);
      return;
    }
    // The user's channels, learned before `ready` (so that a channel post after the client's first
    // sync reaches it live) and before the connection joins the hub (so that nothing is pushed to
    // it before `ready`); a user already connected here is known.
    if (!connection.isClosed && hub.countFor(userId) === 0) await this.deps.channels.userOnline(userId);
    if (connection.isClosed) {
      if (hub.countFor(userId) === 0) this.deps.channels.userOffline(userId);
      return;
    }
    this.leavePreAuth(connection);
    connection.state = 'open';
    connection.userId = userId;
    connection.deviceId = frame.device_id ?? null;
    connection.nextPingAt = clock.now() + config.pingIntervalMs;
    // Fire and forget (the registry never rejects): until the entry lands, a frame from another
    // node may miss this connection, and the next ping's change token heals that.
    if (hub.add(connection)) void this.deps.registry?.add(userId);
    if (hub.addSession(connection.sessionKey)) void this.deps.sessions?.add(connection.sessionKey);
    metrics.connections.inc({ state: 'open' });
    void presenceStore.beat(userId, clock.now());
    const ready: ReadyFrame = {
      type: 'ready',
      ...(frame.id === undefined ? {} : { re: frame.id }),
      user_id: userId,
      device_id: connection.deviceId,
      connection_id: connection.id,
      heartbeat_interval_ms: config.pingIntervalMs,
      heartbeat_timeout_ms: config.pingTimeoutMs,
      server_time: clock.now(),
      limits: {
        max_frame_bytes: config.maxFrameBytes,
        max_body_bytes: config.maxBodyBytes,
        sends_per_second: config.sendsPerSecond,
        send_burst: config.sendBurst,
      },
    };
    connection.send(ready);
    const backlog = connection.backlog;
    connection.backlog = undefined;
    for (const { data, isBinary } of backlog ?? []) this.message(connection, data, isBinary);
  }

  private leavePreAuth(connection: Connection): void {
    if (connection.preAuthAddress === undefined) return;
    this.unauthenticated.release(connection.preAuthAddress);
    connection.preAuthAddress = undefined;
    this.deps.metrics.connections.dec({ state: 'authenticating' });
  }

  /** ConnectionEvents: a connection's transport is gone. */
  closed(connection: Connection): void {
    const { hub, metrics, presence, presenceStore } = this.deps;
    const wasAuthenticated = connection.userId !== '';
    connection.state = 'closed';
    this.deadlines.clear(connection);
    this.connections.delete(connection);
    this.leavePreAuth(connection);
    if (!wasAuthenticated) return;
    metrics.connections.dec({ state: 'open' });
    presence.unsubscribe(connection);
    if (hub.remove(connection)) {
      void presenceStore.leave(connection.userId, this.deps.clock.now());
      void this.deps.registry?.remove(connection.userId);
      this.deps.channels.userOffline(connection.userId);
    }
    if (hub.removeSession(connection.sessionKey)) void this.deps.sessions?.remove(connection.sessionKey);
  }

  private heartbeat(): void {
    const now = this.deps.clock.now();
    const { config } = this.deps;
    // A user's devices due in the same tick share one change-token lookup.
    const due = new Map<string, Connection[]>();
    for (const connection of this.connections) {
      if (connection.state !== 'open') continue;
      if (now - connection.lastHeardAt > config.pingTimeoutMs) {
        connection.closeWith('heartbeat_timeout');
      } else if (now >= connection.nextPingAt) {
        connection.nextPingAt = now + config.pingIntervalMs;
        const devices = due.get(connection.userId);
        if (devices) devices.push(connection);
        else due.set(connection.userId, [connection]);
      }
    }
    for (const [userId, devices] of due) this.ping(userId, devices);
  }

  /**
   * Pings a user's devices with their change token. While the store cannot answer (a database
   * restart: the lookup fails, or waits for a connection) they are pinged with the token last sent
   * instead, after half an interval at most: silent pings would make every client drop its socket
   * at once during a long outage, and the old token asks for no resync that could not be answered.
   */
  private ping(userId: string, devices: Connection[]): void {
    const send = (token: string | undefined, connection: Connection) => {
      if (token === undefined) return;
      connection.lastPingToken = token;
      connection.sendText(JSON.stringify({ type: 'ping', token } satisfies ServerPingFrame));
    };
    let fellBack = false;
    const fallBack = () => {
      if (fellBack) return;
      fellBack = true;
      for (const connection of devices) send(connection.lastPingToken, connection);
    };
    const timer = this.deps.clock.after(this.deps.config.pingIntervalMs / 2, fallBack);
    this.deps.conversations.changeToken(userId).then(
      (token) => {
        timer.cancel();
        for (const connection of devices) send(token, connection);
      },
      (error) => {
        timer.cancel();
        this.deps.log.warn({ err: error }, 'could not compute change token for ping');
        fallBack();
      },
    );
  }

  private invalid(connection: Connection, error: NatterError, re: string | undefined): void {
    this.deps.metrics.framesIn.inc({ type: 'invalid' });
    connection.sendError(error, re);
    connection.invalidFrames += 1;
    if (connection.invalidFrames >= this.deps.config.maxInvalidFrames)
      connection.closeWith('policy_violation');
  }
}

/** A frame that failed validation; `re` is its id when it had a usable one, so the error answers it. */
interface InvalidFrame {
  error: NatterError;
  re?: string;
}

function parseFrame(data: FrameData): ClientFrame | InvalidFrame {
  const text = textOf(data);
  if (exceedsJsonDepth(text)) return TOO_DEEP_FRAME;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: new NatterError('bad_request', 'The frame is not valid JSON.') };
  }
  const parsed = ClientFrame.safeParse(value);
  if (parsed.success) return parsed.data;
  const fields =
    typeof value === 'object' && value !== null ? (value as { type?: unknown; id?: unknown }) : {};
  const re =
    typeof fields.id === 'string' && fields.id.length > 0 && fields.id.length <= 64 ? fields.id : undefined;
  if (!CLIENT_FRAME_TYPES.includes(fields.type as never)) {
    return {
      error: new NatterError('unknown_frame', `Unknown frame type ${describeType(fields.type)}.`),
      re,
    };
  }
  const error = new NatterError('bad_request', describeInvalid(parsed.error.issues, 'frame'));
  return { error, re };
}

function textOf(data: FrameData): string {
  if (typeof data === 'string' || Buffer.isBuffer(data)) return data.toString();
  return (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)).toString();
}

/** Names a `type` that is not a frame type without serializing it: it may be any client value. */
function describeType(type: unknown): string {
  if (type === undefined) return 'missing';
  if (typeof type === 'string') return JSON.stringify(type.slice(0, 40));
  if (typeof type !== 'object' || type === null) return String(type);
  return Array.isArray(type) ? '(an array)' : '(an object)';
}

const TOO_DEEP_FRAME: InvalidFrame = {
  error: new NatterError('bad_request', `The frame is nested deeper than ${MAX_JSON_DEPTH} levels.`),
};

const BINARY_FRAME: InvalidFrame = {
  error: new NatterError('bad_request', 'Binary frames are not accepted; send JSON text frames.'),
};

function requestIdOf(frame: ClientFrame): string | undefined {
  return 'id' in frame ? frame.id : undefined;
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

/** ws keeps its net.Socket private; batching writes needs its cork/uncork. */
function transportOf(ws: WebSocket): Corkable {
  return (ws as unknown as { _socket: Corkable })._socket;
}

function reject(socket: Duplex, status: number, text: string, headers: Record<string, string> = {}): void {
  const lines = [`HTTP/1.1 ${status} ${text}`, 'Connection: close', 'Content-Length: 0'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  socket.end(`${lines.join('\r\n')}\r\n\r\n`);
}
