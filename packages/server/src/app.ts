import { AccountService } from './auth/account-service.js';
import { TokenVerifier } from './auth/token-verifier.js';
import { ChatService } from './chat/chat-service.js';
import { ConversationService } from './chat/conversation-service.js';
import { GroupCommitter } from './chat/group-commit.js';
import { MemberDirectory } from './chat/member-directory.js';
import { Publisher } from './chat/publisher.js';
import { type ConfigInput, resolveConfig } from './config.js';
import { ConnectionHub } from './gateway/connection-hub.js';
import { createFrameRouter } from './gateway/frame-router.js';
import { Gateway } from './gateway/gateway.js';
import { createHttpServer } from './http/http-server.js';
import { createLogger } from './log.js';
import { Metrics } from './metrics.js';
import { MemoryPresenceStore } from './presence/memory-presence-store.js';
import { PresenceService } from './presence/presence-service.js';
import { TypingService } from './presence/typing-service.js';
import { openSqliteStores } from './store/sqlite/sqlite-stores.js';

export interface RunningNatter {
  port: number;
  httpUrl: string;
  wsUrl: string;
  /** Drains: stops accepting, asks clients to reconnect elsewhere, finishes writes, closes the store. */
  close(): Promise<void>;
}

/** The one place where adapters are wired into services, and services into the gateway and HTTP API. */
export async function startNatter(input: ConfigInput = {}): Promise<RunningNatter> {
  const config = resolveConfig(input);
  const log = createLogger(config.logLevel);
  const metrics = new Metrics();

  const stores = openSqliteStores(config.dataDir, log, config.walCheckpointPages);
  const { logStore, accountStore } = stores;
  await stores.whenReady();

  const hub = new ConnectionHub();
  const directory = new MemberDirectory(logStore, log);
  const typing = new TypingService(directory, hub, config.typingTtlMs, config.typingMinIntervalMs);
  const publisher = new Publisher(directory, hub, (conversationId, senderId) =>
    typing.stopped(conversationId, senderId),
  );
  const committer = new GroupCommitter(
    logStore,
    (committed) => publisher.publish(committed),
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
  const chat = new ChatService(committer, metrics, config.maxBodyBytes);
  const presenceStore = new MemoryPresenceStore(config.presenceTtlMs);
  const presence = new PresenceService(presenceStore, logStore, log);

  const gateway = new Gateway({
    config,
    hub,
    verifier,
    route: createFrameRouter({ chat, conversations, presence, typing }),
    presenceStore,
    presence,
    conversations,
    metrics,
    log,
  });
  accounts.onRevoked((sessionKey) => gateway.closeSession(sessionKey));

  let ready = true;
  const http = createHttpServer({
    log,
    verifier,
    accounts,
    conversations,
    metrics,
    isReady: () => ready && stores.healthy(),
    accountLimits: config,
  });
  http.server.on('upgrade', (request, socket, head) => gateway.handleUpgrade(request, socket, head));
  await http.listen({ port: config.port, host: config.host });
  const address = http.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  log.info({ port, host: config.host, dataDir: config.dataDir }, 'listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    httpUrl: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}/ws`,
    close() {
      closing ??= (async () => {
        ready = false;
        log.info('draining');
        await gateway.drain(() => committer.drained());
        await http.close();
        typing.close();
        presenceStore.close();
        await stores.close();
        log.info('stopped');
      })();
      return closing;
    },
  };
}
