import type { Agent } from 'node:https';
import { fileURLToPath } from 'node:url';
import { AttachmentService } from './attachments/attachment-service.js';
import { AccountService } from './auth/account-service.js';
import { ApiKeys } from './auth/api-keys.js';
import { TokenVerifier } from './auth/token-verifier.js';
import { ChannelAudience } from './chat/channel-audience.js';
import { ChatService } from './chat/chat-service.js';
import { ConversationService } from './chat/conversation-service.js';
import { GroupCommitter } from './chat/group-commit.js';
import { MemberDirectory } from './chat/member-directory.js';
import { Publisher } from './chat/publisher.js';
import { SearchService } from './chat/search-service.js';
import { type Clock, systemClock } from './clock.js';
import { type Config, type ConfigInput, resolveConfig } from './config.js';
import { ConnectionHub } from './gateway/connection-hub.js';
import { createFrameRouter } from './gateway/frame-router.js';
import { Gateway } from './gateway/gateway.js';
import { createHttpServer } from './http/http-server.js';
import type { WebAppOptions } from './http/web-routes.js';
import { trustedProxies } from './limits/client-address.js';
import { createLogger } from './log.js';
import { Metrics } from './metrics.js';
import { PresenceService } from './presence/presence-service.js';
import { TypingService } from './presence/typing-service.js';
import { PushNotifier } from './push/push-notifier.js';
import { pushProvidersOf } from './push/push-providers.js';
import { UserSearch } from './users/user-search.js';
import { HttpBeforeSendHook } from './webhooks/before-send-hook.js';
import { WebhookDispatcher } from './webhooks/webhook-dispatcher.js';
import { openBlobStore } from './wiring/blob-store.js';
import { type LivePathSeams, openLivePath } from './wiring/live-path.js';
import { openStores } from './wiring/stores.js';

export interface RunningNatter {
  port: number;
  /** This node's name in the cluster (NATTER_NODE_ID, or the random one it picked). */
  nodeId: string;
  httpUrl: string;
  wsUrl: string;
  /** Drains: stops accepting, asks clients to reconnect elsewhere, finishes writes, closes the store. */
  close(): Promise<void>;
}

/** Replaceable parts, for embedding and for tests. */
export interface NatterSeams extends LivePathSeams {
  /**
   * Time for heartbeats, auth and token expiry, presence, typing and the WebSocket rate limits (the
   * system clock by default). In a cluster, presence and node liveness expire on Redis's clock
   * whatever this says.
   */
  clock?: Clock;
  /** Connections to the push services (tests pass one that trusts their local push service). */
  pushAgent?: Agent;
}

/**
 * The listen backlog asked of the kernel, which caps it at net.core.somaxconn (4096 on recent Linux).
 * With Node's default of 511 the reconnect-storm benchmark (clients returning within seconds of a
 * restart) saw thousands of SYNs dropped on the full queue, and those clients waited out TCP's SYN
 * retransmissions (1 s, 3 s, 7 s...) on top of their backoff: at 4,000 clients the p99 wait beyond
 * the backoff went from 3-4 s to 0.15-0.65 s with the larger queue, and no SYN was dropped.
 */
const LISTEN_BACKLOG = 65_535;

/**
 * The one place where adapters are wired into services, and services into the gateway and HTTP API.
 * Configuration picks the adapters (SQLite or PostgreSQL; alone or in a Redis cluster); the services
 * and the gateway are the same either way.
 */
export async function startNatter(input: ConfigInput = {}, seams: NatterSeams = {}): Promise<RunningNatter> {
  const config = resolveConfig(input);
  const clock = seams.clock ?? systemClock;
  const log = createLogger(config.logLevel);
  const metrics = new Metrics();

  const stores = openStores(config, log, clock);
  const { logStore, accountStore } = stores;
  await stores.whenReady();

  // The gateway writes to this node's sockets through the hub; the domain broadcasts through the
  // live path, which in a cluster also reaches the other nodes' sockets over the bus.
  const hub = new ConnectionHub();
  // Which of this node's users are members of which channel: a channel post goes to them only.
  const audience = new ChannelAudience({
    channelsOf: (userId) => logStore.channelsOf(userId),
    local: hub,
    isOnline: (userId) => hub.countFor(userId) > 0,
    log,
  });
  const live = await openLivePath(config, hub, audience, metrics, log, clock, seams);
  const { broadcaster, presenceStore } = live;
  const sharedLog = config.store !== 'sqlite'; // other nodes may commit to it
  const directory = new MemberDirectory(logStore, log, sharedLog);
  const typing = new TypingService(
    directory,
    audience,
    broadcaster,
    config.typingTtlMs,
    config.typingMinIntervalMs,
    clock,
  );
  const publisher = new Publisher(directory, broadcaster, live.channelFanout, (conversationId, senderId) =>
    typing.stopped(conversationId, senderId),
  );
  const pushProviders = pushProvidersOf(config, seams.pushAgent, clock);
  const registry = live.registry;
  const notifier = new PushNotifier({
    store: stores.pushStore,
    logStore,
    accounts: accountStore,
    providers: pushProviders,
    // In a cluster the registries know every node's sockets (this one's included); alone, the hub.
    isLive: async (userId, sessionKey) => {
      const sessions = live.sessions;
      if (sessionKey !== null)
        return sessions ? (await sessions.nodesOf([sessionKey])).has(sessionKey) : hub.hasSession(sessionKey);
      return registry ? (await registry.nodesOf([userId])).has(userId) : hub.countFor(userId) > 0;
    },
    settings: { previews: config.pushPreviews, coalesceMs: config.pushCoalesceMs, ttlMs: config.pushTtlMs },
    metrics,
    log,
    clock,
  });
  const webhooks = new WebhookDispatcher({
    store: stores.webhookStore,
    settings: {
      timeoutMs: config.webhookTimeoutMs,
      maxAttempts: config.webhookMaxAttempts,
      retentionMs: config.webhookRetentionMs,
    },
    metrics,
    log,
    clock,
  });
  const committer = new GroupCommitter(
    logStore,
    (committed) => {
      publisher.publish(committed);
      notifier.committed(committed);
      webhooks.nudge();
    },
    metrics,
    log,
    config.maxPendingWrites,
  );

  const verifier = new TokenVerifier(accountStore, {
    secret: config.jwtSecret,
    publicKey: config.jwtPublicKey,
    jwksFile: config.jwtJwksFile,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
  });
  const accounts = new AccountService(accountStore, config);
  const conversations = new ConversationService(logStore, accountStore, committer, {
    autoCreateUsers: verifier.acceptsJwt,
    syncEventsPerConversation: config.syncEventsPerConversation,
  });
  const beforeSend =
    config.beforeSendUrl === undefined
      ? null
      : new HttpBeforeSendHook(
          {
            url: config.beforeSendUrl,
            secret: config.beforeSendSecret,
            timeoutMs: config.beforeSendTimeoutMs,
            failMode: config.beforeSendFailMode,
          },
          clock,
        );
  const media = openBlobStore(config);
  const attachments = new AttachmentService(
    media.blobs,
    config,
    clock,
    config.attachmentSigningKey,
    media.direct,
  );
  const chat = new ChatService(committer, metrics, config.maxBodyBytes, beforeSend, attachments);
  const attachmentGc = clock.every(config.attachmentGcIntervalMs, () => {
    attachments.collectGarbage().catch((error: unknown) => log.warn({ err: error }, 'attachment GC failed'));
  });
  const presence = new PresenceService(presenceStore, logStore, log);
  const search = new SearchService(stores.messageSearch, config, clock);

  const trustProxy = trustedProxies(config.trustProxy);
  const gateway = new Gateway({
    config,
    trustProxy,
    hub,
    channels: audience,
    registry: live.registry,
    ...(live.sessions ? { sessions: live.sessions } : {}),
    verifier,
    route: createFrameRouter({ chat, conversations, presence, typing, search }),
    presenceStore,
    presence,
    conversations,
    metrics,
    log,
    clock,
  });
  // A logout closes the session's sockets on every node (this one only, when alone).
  accounts.onRevoked((sessionKey) => live.revokeSession(sessionKey));
  live.onSessionRevoked((sessionKey) => gateway.closeSession(sessionKey));

  let ready = true;
  const apiKeys = new ApiKeys(config.serverApiKeys);
  const http = createHttpServer({
    log,
    verifier,
    accounts,
    conversations,
    search,
    userSearch: new UserSearch(accountStore),
    metrics,
    isReady: () => ready && stores.healthy() && live.healthy(),
    accountLimits: config,
    connectionLimits: config,
    web: webAppOf(config, media.direct?.origin),
    trustProxy,
    serverApi: { keys: apiKeys, accounts, conversations, chat },
    webhooks: { keys: apiKeys, store: stores.webhookStore, dispatcher: webhooks, clock },
    push: {
      store: stores.pushStore,
      providers: pushProviders,
      vapidPublicKey: config.pushVapidPublicKey ?? null,
      clock,
    },
    attachments: { service: attachments, maxBytes: config.attachmentMaxBytes },
    streams: {
      gateway,
      clock,
      allowedOrigins: config.allowedOrigins,
      maxFrameBytes: config.maxFrameBytes,
      maxBufferedBytes: config.maxBufferedBytes,
      pollTimeoutMs: config.streamPollTimeoutMs,
    },
  });
  notifier.start();
  webhooks.start();
  http.server.on('upgrade', (request, socket, head) => gateway.handleUpgrade(request, socket, head));
  await http.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG });
  const address = http.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  const where = config.store === 'sqlite' ? { dataDir: config.dataDir } : {};
  log.info(
    { port, host: config.host, store: config.store, cluster: config.cluster, nodeId: live.nodeId, ...where },
    'listening',
  );

  let closing: Promise<void> | undefined;
  return {
    port,
    nodeId: live.nodeId,
    httpUrl: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}/ws`,
    close() {
      closing ??= (async () => {
        ready = false;
        log.info('draining');
        await gateway.drain(() => committer.drained());
        // The drain has answered the requests under way and ended every HTTP stream. A connection
        // a client left half-open (an aborted event stream) would hold the close until its
        // keep-alive timeout: it is cut after a short grace instead.
        const cut = setTimeout(() => http.server.closeAllConnections(), HTTP_CLOSE_GRACE_MS);
        await http.close();
        clearTimeout(cut);
        typing.close();
        await notifier.close();
        await webhooks.close();
        for (const provider of pushProviders.values()) await provider.close();
        attachmentGc.cancel();
        await live.close();
        await stores.close();
        log.info('stopped');
      })();
      return closing;
    },
  };
}

const HTTP_CLOSE_GRACE_MS = 2_000;

/** NATTER_WEB_DIR '' means the web app built alongside this server (packages/web/dist); 'off' serves none. */
function webAppOf(config: Config, mediaOrigin: string | undefined): WebAppOptions | null {
  if (config.webDir === 'off') return null;
  return {
    dir: config.webDir || fileURLToPath(new URL('../../web/dist', import.meta.url)),
    sourceMaps: config.webSourceMaps,
    ...(mediaOrigin ? { mediaOrigin } : {}),
  };
}
