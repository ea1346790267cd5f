import { parseArgs } from 'node:util';
import { DEFAULT_MAX_BODY_BYTES } from '@natter/protocol';
import { z } from 'zod';

/**
 * Every setting, with its environment variable and default. `--flag value` on the command line
 * overrides the environment (flag = the variable name without NATTER_, lower-case, dashes:
 * NATTER_DATA_DIR -> --data-dir). docs/operations.md lists them all.
 */
const SETTINGS = {
  port: {
    env: 'PORT',
    doc: 'HTTP and WebSocket port (0 picks a free one).',
    schema: z.coerce.number().int().min(0).max(65535).default(8080),
  },
  host: { env: 'NATTER_HOST', doc: 'Interface to listen on.', schema: z.string().default('0.0.0.0') },
  dataDir: {
    env: 'NATTER_DATA_DIR',
    doc: 'Directory of the SQLite database (created if missing).',
    schema: z.string().default('./data'),
  },
  webDir: {
    env: 'NATTER_WEB_DIR',
    doc: 'Directory of the web app served at / (empty: the bundled packages/web/dist; off: none).',
    schema: z.string().default(''),
  },
  webSourceMaps: {
    env: 'NATTER_WEB_SOURCE_MAPS',
    doc: "Serve the web app's source maps (.map, with a SourceMap header on its scripts) for debugging; off, they answer 404 and the app's sources stay unpublished.",
    schema: bool().default(false),
  },
  store: {
    env: 'NATTER_STORE',
    doc: 'Where the durable log lives: sqlite (a file in NATTER_DATA_DIR, one node) or postgres (DATABASE_URL, any number of nodes).',
    schema: z.enum(['sqlite', 'postgres']).default('sqlite'),
  },
  databaseUrl: {
    env: 'DATABASE_URL',
    doc: 'PostgreSQL connection URL (postgres://user:password@host:5432/db), required with NATTER_STORE=postgres.',
    schema: z.string().min(1).optional(),
  },
  databasePoolSize: {
    env: 'NATTER_DATABASE_POOL_SIZE',
    doc: "PostgreSQL connections in this node's pool.",
    schema: int(1, 1000).default(10),
  },
  cluster: {
    env: 'NATTER_CLUSTER',
    doc: 'none: this node is alone; redis: one of a fleet sharing REDIS_URL (registry, bus, presence) and a postgres store.',
    schema: z.enum(['none', 'redis']).default('none'),
  },
  redisUrl: {
    env: 'REDIS_URL',
    doc: 'Redis URL (redis://host:6379), required with NATTER_CLUSTER=redis.',
    schema: z.string().min(1).optional(),
  },
  redisPrefix: {
    env: 'NATTER_REDIS_PREFIX',
    doc: 'Prefix of every Redis key and channel, so that several clusters can share one Redis.',
    schema: z.string().default('natter:'),
  },
  nodeId: {
    env: 'NATTER_NODE_ID',
    doc: "This node's name in the cluster (letters, digits, . _ -); unset: a random one per start.",
    schema: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'use 1 to 64 letters, digits, dots, underscores or dashes')
      .optional(),
  },
  clusterHeartbeatMs: {
    env: 'NATTER_CLUSTER_HEARTBEAT_MS',
    doc: 'How often a cluster node beats its liveness and re-arms its connection registry entries.',
    schema: int(50).default(5_000),
  },
  clusterTtlMs: {
    env: 'NATTER_CLUSTER_TTL_MS',
    doc: "A node's liveness and registry entries expire this long after its last beat (at least twice the heartbeat).",
    schema: int(100).default(15_000),
  },
  walCheckpointPages: {
    env: 'NATTER_WAL_CHECKPOINT_PAGES',
    doc: 'SQLite WAL size in pages (4 KiB) at which the writer checkpoints it into the database file.',
    schema: int(100).default(10_000),
  },
  logLevel: {
    env: 'NATTER_LOG_LEVEL',
    doc: 'Log level of the JSON logs on stdout.',
    schema: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  },
  allowedOrigins: {
    env: 'NATTER_ALLOWED_ORIGINS',
    doc: "Comma-separated browser origins allowed to open the WebSocket, besides the server's own origin; * allows any.",
    schema: list().default([]),
  },
  trustProxy: {
    env: 'NATTER_TRUST_PROXY',
    doc: 'Reverse proxies whose X-Forwarded-For is believed (comma list of addresses, CIDRs, or loopback / linklocal / uniquelocal); empty: none, the peer address is the client. Every per-IP limit keys on the resulting client address.',
    schema: list().default([]),
  },
  httpHeadersTimeoutMs: {
    env: 'NATTER_HTTP_HEADERS_TIMEOUT_MS',
    doc: 'An HTTP request (or WebSocket upgrade) whose headers have not all arrived this long after it began, or after the connection opened, is answered request_timeout (408) and closed.',
    schema: int(100).default(10_000),
  },
  httpRequestTimeoutMs: {
    env: 'NATTER_HTTP_REQUEST_TIMEOUT_MS',
    doc: 'An HTTP request whose body has not all arrived this long after it began is answered request_timeout (408) and closed; at least NATTER_HTTP_HEADERS_TIMEOUT_MS. Idle keep-alive connections and WebSockets are not affected.',
    schema: int(100).default(30_000),
  },
  maxHttpConnectionsPerIp: {
    env: 'NATTER_MAX_HTTP_CONNECTIONS_PER_IP',
    doc: 'HTTP connections one peer address may hold open at once (upgraded WebSockets do not count; a trusted proxy is exempt); one more is answered rate_limited (429) and closed.',
    schema: int(1).default(256),
  },
  registration: {
    env: 'NATTER_REGISTRATION',
    doc: 'open: anyone may create a built-in account; closed: only pre-provisioned or JWT users.',
    schema: z.enum(['open', 'closed']).default('open'),
  },
  sessionTtlSeconds: {
    env: 'NATTER_SESSION_TTL_SECONDS',
    doc: 'Lifetime of a built-in session token.',
    schema: int(1).default(30 * 24 * 3600),
  },
  loginAttemptsPerMinute: {
    env: 'NATTER_LOGIN_ATTEMPTS_PER_MINUTE',
    doc: 'Login attempts per client IP and username per minute (burst of the same size); more get rate_limited.',
    schema: int(1).default(10),
  },
  loginAttemptsPerIpPerMinute: {
    env: 'NATTER_LOGIN_ATTEMPTS_PER_IP_PER_MINUTE',
    doc: 'Login attempts per client IP per minute, whatever the username (burst of the same size); more get rate_limited.',
    schema: int(1).default(30),
  },
  registrationsPerHour: {
    env: 'NATTER_REGISTRATIONS_PER_HOUR',
    doc: 'Account registrations per client IP per hour (burst of the same size); more get rate_limited.',
    schema: int(1).default(30),
  },
  passwordHashCost: {
    env: 'NATTER_PASSWORD_HASH_COST',
    doc: 'log2 of the scrypt cost N for password hashes.',
    schema: int(10, 20).default(15),
  },
  maxConcurrentPasswordHashes: {
    env: 'NATTER_MAX_CONCURRENT_PASSWORD_HASHES',
    doc: "Password hashes (login, registration) computed at once; each holds one of libuv's threads (4 unless UV_THREADPOOL_SIZE says otherwise), which file and DNS work share.",
    schema: int(1).default(2),
  },
  maxQueuedPasswordHashes: {
    env: 'NATTER_MAX_QUEUED_PASSWORD_HASHES',
    doc: 'Password hashes waiting for one of those slots; beyond this, logins and registrations get rate_limited.',
    schema: int(0).default(32),
  },
  jwtSecret: {
    env: 'NATTER_JWT_SECRET',
    doc: 'Accept HS256 JWTs signed with this secret (sub = user id, exp required).',
    schema: z.string().min(16).optional(),
  },
  jwtPublicKey: {
    env: 'NATTER_JWT_PUBLIC_KEY',
    doc: 'Accept RS256/ES256/EdDSA JWTs verified with this PEM public key (text or file path).',
    schema: z.string().optional(),
  },
  jwtJwksFile: {
    env: 'NATTER_JWT_JWKS_FILE',
    doc: 'Accept RS256/ES256/EdDSA JWTs verified with the keys of this JWKS file.',
    schema: z.string().optional(),
  },
  jwtIssuer: {
    env: 'NATTER_JWT_ISSUER',
    doc: 'Required iss claim of JWTs, if set.',
    schema: z.string().optional(),
  },
  jwtAudience: {
    env: 'NATTER_JWT_AUDIENCE',
    doc: 'Required aud claim of JWTs, if set.',
    schema: z.string().optional(),
  },
  authTimeoutMs: {
    env: 'NATTER_AUTH_TIMEOUT_MS',
    doc: 'A socket that has not authenticated within this long is closed (4002).',
    schema: int(100).default(10_000),
  },
  pingIntervalMs: {
    env: 'NATTER_PING_INTERVAL_MS',
    doc: 'The server pings each connection this often.',
    schema: int(50).default(25_000),
  },
  pingTimeoutMs: {
    env: 'NATTER_PING_TIMEOUT_MS',
    doc: 'A connection silent for this long is closed (4008).',
    schema: int(100).default(60_000),
  },
  streamPollTimeoutMs: {
    env: 'NATTER_STREAM_POLL_TIMEOUT_MS',
    doc: 'The HTTP fallback transport holds a long poll with nothing to answer for this long.',
    schema: int(100).default(25_000),
  },
  presenceTtlMs: {
    env: 'NATTER_PRESENCE_TTL_MS',
    doc: 'A user with no frame from any connection for this long reads offline.',
    schema: int(100).default(60_000),
  },
  typingTtlMs: {
    env: 'NATTER_TYPING_TTL_MS',
    doc: 'A typing start not refreshed within this long ends with a stop.',
    schema: int(100).default(6_000),
  },
  typingMinIntervalMs: {
    env: 'NATTER_TYPING_MIN_INTERVAL_MS',
    doc: 'At most one typing start per user and conversation is forwarded per interval.',
    schema: int(0).default(2_000),
  },
  maxFrameBytes: {
    env: 'NATTER_MAX_FRAME_BYTES',
    doc: 'Largest frame accepted; larger closes the socket with 1009.',
    schema: int(1024).default(64 * 1024),
  },
  maxBodyBytes: {
    env: 'NATTER_MAX_BODY_BYTES',
    doc: 'Largest message body in UTF-8 bytes (body_too_large).',
    schema: int(1).default(DEFAULT_MAX_BODY_BYTES),
  },
  sendsPerSecond: {
    env: 'NATTER_SENDS_PER_SECOND',
    doc: 'Sustained sends (message, edit, delete) per user per second (rate_limited).',
    schema: int(1).default(50),
  },
  sendBurst: {
    env: 'NATTER_SEND_BURST',
    doc: 'Sends a user may make in a burst before the rate applies.',
    schema: int(1).default(200),
  },
  framesPerSecond: {
    env: 'NATTER_FRAMES_PER_SECOND',
    doc: 'Sustained frames per connection per second (rate_limited).',
    schema: int(1).default(200),
  },
  frameBurst: {
    env: 'NATTER_FRAME_BURST',
    doc: 'Frames a connection may send in a burst.',
    schema: int(1).default(400),
  },
  maxInvalidFrames: {
    env: 'NATTER_MAX_INVALID_FRAMES',
    doc: 'Invalid frames a connection may send before it is closed (1008).',
    schema: int(1).default(20),
  },
  maxReadsInFlight: {
    env: 'NATTER_MAX_READS_IN_FLIGHT',
    doc: 'sync, fetch, history and search requests a connection may have awaiting an answer; more get rate_limited.',
    schema: int(1).default(8),
  },
  maxConnectionsPerUser: {
    env: 'NATTER_MAX_CONNECTIONS_PER_USER',
    doc: 'Open connections per user; one more is refused (4004).',
    schema: int(1).default(20),
  },
  maxUnauthenticated: {
    env: 'NATTER_MAX_UNAUTHENTICATED',
    doc: 'Sockets that have not authenticated yet, from all addresses together; more are refused with HTTP 503.',
    schema: int(1).default(10_000),
  },
  maxUnauthenticatedPerIp: {
    env: 'NATTER_MAX_UNAUTHENTICATED_PER_IP',
    doc: 'Sockets that have not authenticated yet from one client address (after NATTER_TRUST_PROXY); more from it are refused with HTTP 503, so one address cannot use up NATTER_MAX_UNAUTHENTICATED.',
    schema: int(1).default(100),
  },
  maxBufferedBytes: {
    env: 'NATTER_MAX_BUFFERED_BYTES',
    doc: 'Unsent bytes a connection may have queued before it is closed as a slow consumer (4009).',
    schema: int(1024).default(4 * 1024 * 1024),
  },
  perMessageDeflate: {
    env: 'NATTER_PERMESSAGE_DEFLATE',
    doc: 'Enable permessage-deflate compression (costs CPU and memory per connection).',
    schema: bool().default(false),
  },
  drainMaxDelayMs: {
    env: 'NATTER_DRAIN_MAX_DELAY_MS',
    doc: 'On shutdown, clients are told to reconnect after a random delay up to this.',
    schema: int(0).default(5_000),
  },
  maxPendingWrites: {
    env: 'NATTER_MAX_PENDING_WRITES',
    doc: 'Writes queued for the next commit beyond which new ones are refused (overloaded, retryable).',
    schema: int(1).default(50_000),
  },
  searchLanguage: {
    env: 'NATTER_SEARCH_LANGUAGE',
    doc: 'PostgreSQL text search configuration of message search (simple, english, german, ...: see pg_ts_config); changing it re-indexes every message at start. SQLite ignores it (FTS5 unicode61, diacritics folded).',
    schema: z
      .string()
      .regex(/^[a-z_]{1,63}$/, 'a text search configuration name')
      .default('simple'),
  },
  searchesPerSecond: {
    env: 'NATTER_SEARCHES_PER_SECOND',
    doc: 'Sustained searches per user per second, WebSocket and HTTP together (rate_limited).',
    schema: int(1).default(2),
  },
  searchBurst: {
    env: 'NATTER_SEARCH_BURST',
    doc: 'Searches a user may make in a burst before the rate applies.',
    schema: int(1).default(10),
  },
  searchTimeoutMs: {
    env: 'NATTER_SEARCH_TIMEOUT_MS',
    doc: 'Longest a search may take, waiting and running, before it fails with search_timeout (SQLite: a search that overruns still finishes on the search thread; its answer is dropped).',
    schema: int(10).default(2_000),
  },
  syncEventsPerConversation: {
    env: 'NATTER_SYNC_EVENTS_PER_CONVERSATION',
    doc: 'Events per conversation a sync returns before listing it as truncated.',
    schema: int(1, 1000).default(100),
  },
  serverApiKeys: {
    env: 'NATTER_SERVER_API_KEYS',
    doc: 'API keys of the server API (/v1/server), comma-separated, each name:scopes:sha256 with scopes joined by + (users, conversations, messages, webhooks) and the SHA-256 hex of the key; `npm run admin -- api-key NAME SCOPES` makes one. Remove an entry to revoke it.',
    schema: list().default([]),
  },
  beforeSendUrl: {
    env: 'NATTER_BEFORE_SEND_URL',
    doc: "URL of the product's before-send hook: each new message is POSTed there (signed like a webhook) and may be allowed, rejected (message_rejected) or rewritten; unset: no hook.",
    schema: z.url().optional(),
  },
  beforeSendSecret: {
    env: 'NATTER_BEFORE_SEND_SECRET',
    doc: 'HMAC-SHA256 secret that signs the before-send requests (natter-signature header).',
    schema: z.string().default(''),
  },
  beforeSendTimeoutMs: {
    env: 'NATTER_BEFORE_SEND_TIMEOUT_MS',
    doc: 'How long a send waits for the before-send hook before NATTER_BEFORE_SEND_FAIL_MODE applies.',
    schema: int(10, 60_000).default(500),
  },
  beforeSendFailMode: {
    env: 'NATTER_BEFORE_SEND_FAIL_MODE',
    doc: 'When the hook times out, fails or answers nonsense: open (store the message as sent) or closed (refuse it with moderation_unavailable).',
    schema: z.enum(['open', 'closed']).default('open'),
  },
  pushVapidPublicKey: {
    env: 'NATTER_PUSH_VAPID_PUBLIC_KEY',
    doc: 'Web Push: the VAPID public key (base64url, from `npx web-push generate-vapid-keys`); Web Push is off unless both keys are set.',
    schema: z.string().min(1).optional(),
  },
  pushVapidPrivateKey: {
    env: 'NATTER_PUSH_VAPID_PRIVATE_KEY',
    doc: 'Web Push: the VAPID private key (base64url). A secret.',
    schema: z.string().min(1).optional(),
  },
  pushVapidSubject: {
    env: 'NATTER_PUSH_VAPID_SUBJECT',
    doc: "Web Push: who runs this server, for the push services' operators (mailto: or https: URL).",
    schema: z
      .string()
      .regex(/^(mailto:|https:)/, 'use a mailto: or https: URL')
      .default('mailto:admin@localhost'),
  },
  pushFcmServiceAccountFile: {
    env: 'NATTER_PUSH_FCM_SERVICE_ACCOUNT_FILE',
    doc: "FCM: path to the Firebase service account's JSON key file (project_id, client_email, private_key, token_uri); FCM is off without it.",
    schema: z.string().min(1).optional(),
  },
  pushApnsKeyFile: {
    env: 'NATTER_PUSH_APNS_KEY_FILE',
    doc: 'APNs: path to the .p8 token-signing key from the Apple developer account; APNs is off without it (then also set the key id, team id and topic).',
    schema: z.string().min(1).optional(),
  },
  pushApnsKeyId: {
    env: 'NATTER_PUSH_APNS_KEY_ID',
    doc: "APNs: the signing key's id (10 characters).",
    schema: z.string().min(1).optional(),
  },
  pushApnsTeamId: {
    env: 'NATTER_PUSH_APNS_TEAM_ID',
    doc: 'APNs: your Apple developer team id.',
    schema: z.string().min(1).optional(),
  },
  pushApnsTopic: {
    env: 'NATTER_PUSH_APNS_TOPIC',
    doc: "APNs: the app's bundle id.",
    schema: z.string().min(1).optional(),
  },
  pushApnsSandbox: {
    env: 'NATTER_PUSH_APNS_SANDBOX',
    doc: "APNs: use Apple's development environment (builds signed for development).",
    schema: bool().default(false),
  },
  pushPreviews: {
    env: 'NATTER_PUSH_PREVIEWS',
    doc: 'Put the message\'s text in push notifications; off, a push says only "New message from ‹sender›" (the push services never see the content).',
    schema: bool().default(false),
  },
  pushCoalesceMs: {
    env: 'NATTER_PUSH_COALESCE_MS',
    doc: "How long a conversation's first push waits for more messages to fold into it.",
    schema: int(0, 60_000).default(1_000),
  },
  pushTtlMs: {
    env: 'NATTER_PUSH_TTL_MS',
    doc: 'A push not delivered (retried with backoff) within this long is dropped: the app resumes from its change token anyway.',
    schema: int(1_000).default(24 * 60 * 60 * 1000),
  },
  webhookTimeoutMs: {
    env: 'NATTER_WEBHOOK_TIMEOUT_MS',
    doc: 'A webhook delivery attempt waits this long for a 2xx answer before it counts as failed and is retried.',
    schema: int(100).default(10_000),
  },
  webhookMaxAttempts: {
    env: 'NATTER_WEBHOOK_MAX_ATTEMPTS',
    doc: 'A webhook delivery is given up (status failed; the replay endpoint sends it again) after this many attempts, retried with backoff from 10 s doubling to 1 h (12 attempts: about 5 hours).',
    schema: int(1, 100).default(12),
  },
  webhookRetentionMs: {
    env: 'NATTER_WEBHOOK_RETENTION_MS',
    doc: 'Delivered and failed webhook deliveries, with their attempts, stay in the delivery log this long.',
    schema: int(60_000).default(7 * 24 * 60 * 60 * 1000),
  },
  attachmentMaxBytes: {
    env: 'NATTER_ATTACHMENT_MAX_BYTES',
    doc: 'Largest file a user may attach, in bytes (attachment_too_large above it).',
    schema: int(1).default(25 * 1024 * 1024),
  },
  attachmentQuotaBytes: {
    env: 'NATTER_ATTACHMENT_QUOTA_BYTES',
    doc: 'Bytes of attachments one user may keep stored (their uploads until collected); attachment_quota_exceeded beyond.',
    schema: int(1).default(1024 * 1024 * 1024),
  },
  attachmentTypes: {
    env: 'NATTER_ATTACHMENT_TYPES',
    doc: 'Comma-separated types (as sniffed from the bytes; `image/*` style wildcards allowed) a file may have to be attached.',
    schema: list().default([
      'image/*',
      'video/*',
      'audio/*',
      'application/pdf',
      'text/plain',
      'application/zip',
    ]),
  },
  attachmentUrlTtlMs: {
    env: 'NATTER_ATTACHMENT_URL_TTL_MS',
    doc: 'How long a signed download URL stays valid once issued to a member.',
    schema: int(1000).default(5 * 60_000),
  },
  attachmentGraceMs: {
    env: 'NATTER_ATTACHMENT_GRACE_MS',
    doc: 'How long an upload may stay unreferenced by a message, and the media of a deleted message stays, before they are collected (also how long an upload URL is valid).',
    schema: int(1000).default(24 * 60 * 60_000),
  },
  attachmentGcIntervalMs: {
    env: 'NATTER_ATTACHMENT_GC_INTERVAL_MS',
    doc: 'How often this node collects orphaned uploads and the media of deleted messages.',
    schema: int(1000).default(60 * 60_000),
  },
  attachmentStore: {
    env: 'NATTER_ATTACHMENT_STORE',
    doc: 'Where attachment bytes live: files (NATTER_DATA_DIR/media, one node) or s3 (any S3-compatible bucket, NATTER_S3_*; needed by a cluster).',
    schema: z.enum(['files', 's3']).default('files'),
  },
  s3Endpoint: {
    env: 'NATTER_S3_ENDPOINT',
    doc: 'S3 endpoint URL (http://minio:9000, https://<account>.r2.cloudflarestorage.com); empty: AWS S3 for NATTER_S3_REGION.',
    schema: z.string().default(''),
  },
  s3Bucket: {
    env: 'NATTER_S3_BUCKET',
    doc: 'S3 bucket of the attachments (it must exist).',
    schema: z.string().default(''),
  },
  s3Region: {
    env: 'NATTER_S3_REGION',
    doc: 'S3 region (us-east-1 for most S3-compatible stores).',
    schema: z.string().default('us-east-1'),
  },
  s3AccessKeyId: { env: 'NATTER_S3_ACCESS_KEY_ID', doc: 'S3 access key id.', schema: z.string().default('') },
  s3SecretAccessKey: {
    env: 'NATTER_S3_SECRET_ACCESS_KEY',
    doc: 'S3 secret access key.',
    schema: z.string().default(''),
  },
  s3Prefix: {
    env: 'NATTER_S3_PREFIX',
    doc: 'Prefix of every object key, so that several deployments can share a bucket.',
    schema: z.string().default('natter/'),
  },
  s3ForcePathStyle: {
    env: 'NATTER_S3_FORCE_PATH_STYLE',
    doc: 'Address the bucket in the path (http://host/bucket/key), as MinIO, Ceph and R2 expect; off: virtual-hosted style (bucket.host).',
    schema: bool().default(false),
  },
  s3DirectTransfer: {
    env: 'NATTER_S3_DIRECT_TRANSFER',
    doc: 'With the S3 store, clients PUT and GET the bytes at presigned URLs of the bucket itself (the server only checks what arrived); needs the bucket reachable from clients, with CORS for browsers. Off: the bytes pass through Natter.',
    schema: bool().default(true),
  },
  attachmentSigningKey: {
    env: 'NATTER_ATTACHMENT_SIGNING_KEY',
    doc: 'Secret that signs upload and download URLs; set the same on every node of a cluster (unset: a random key per process).',
    schema: z.string().min(16).optional(),
  },
} as const;

function int(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.coerce.number().int().min(min).max(max);
}

function bool() {
  return z.union([
    z.boolean(),
    z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1'),
  ]);
}

function list() {
  return z.union([
    z.array(z.string()),
    z.string().transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ]);
}

type Settings = typeof SETTINGS;
export type Config = { [K in keyof Settings]: z.output<Settings[K]['schema']> };
export type ConfigInput = { [K in keyof Settings]?: z.input<Settings[K]['schema']> };

/** NATTER_DATA_DIR -> data-dir */
function flagOf(env: string): string {
  return env
    .replace(/^NATTER_/, '')
    .toLowerCase()
    .replaceAll('_', '-');
}

/** Validates settings given directly (tests, embedding) over the documented defaults. */
export function resolveConfig(input: ConfigInput = {}): Config {
  const out: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(SETTINGS)) {
    const parsed = setting.schema.safeParse((input as Record<string, unknown>)[key]);
    if (!parsed.success) {
      throw new Error(
        `Invalid setting ${key} (${setting.env}): ${parsed.error.issues[0]?.message ?? 'invalid'}`,
      );
    }
    out[key] = parsed.data;
  }
  const config = out as Config;
  checkCombination(config);
  return config;
}

/** Settings that are valid one by one but not together; each message says what to set. */
function checkCombination(config: Config): void {
  if (config.store === 'postgres' && config.databaseUrl === undefined) {
    throw new Error('NATTER_STORE=postgres needs DATABASE_URL (postgres://user:password@host:5432/db).');
  }
  if (config.cluster === 'redis' && config.redisUrl === undefined) {
    throw new Error('NATTER_CLUSTER=redis needs REDIS_URL (redis://host:6379).');
  }
  // Each node's SQLite file would be a log of its own: the nodes would disagree on every seq.
  if (config.cluster === 'redis' && config.store !== 'postgres') {
    throw new Error('NATTER_CLUSTER=redis needs a store the nodes share: set NATTER_STORE=postgres.');
  }
  // The request timeout covers the headers too: a longer headers timeout could never fire (and Node's
  // HTTP server refuses it with a message that names neither setting).
  if (config.httpHeadersTimeoutMs > config.httpRequestTimeoutMs) {
    throw new Error(
      `NATTER_HTTP_HEADERS_TIMEOUT_MS (${config.httpHeadersTimeoutMs}) must not exceed NATTER_HTTP_REQUEST_TIMEOUT_MS (${config.httpRequestTimeoutMs}).`,
    );
  }
  if (
    config.pushApnsKeyFile !== undefined &&
    (config.pushApnsKeyId === undefined ||
      config.pushApnsTeamId === undefined ||
      config.pushApnsTopic === undefined)
  ) {
    throw new Error(
      'APNs needs NATTER_PUSH_APNS_KEY_ID, NATTER_PUSH_APNS_TEAM_ID and NATTER_PUSH_APNS_TOPIC with its key file.',
    );
  }
  if ((config.pushVapidPublicKey === undefined) !== (config.pushVapidPrivateKey === undefined)) {
    throw new Error('Web Push needs both NATTER_PUSH_VAPID_PUBLIC_KEY and NATTER_PUSH_VAPID_PRIVATE_KEY.');
  }
  // One missed beat must not make a live node's users unreachable.
  if (config.clusterTtlMs < 2 * config.clusterHeartbeatMs) {
    throw new Error(
      `NATTER_CLUSTER_TTL_MS (${config.clusterTtlMs}) must be at least twice NATTER_CLUSTER_HEARTBEAT_MS (${config.clusterHeartbeatMs}).`,
    );
  }
}

/** Reads settings from the environment, then command-line flags, over the defaults. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  argv: string[] = process.argv.slice(2),
): Config {
  const input: Record<string, unknown> = {};
  const flagOptions: Record<string, { type: 'string' }> = {};
  const flagToKey = new Map<string, string>();
  for (const [key, setting] of Object.entries(SETTINGS)) {
    const value = env[setting.env];
    if (value !== undefined && value !== '') input[key] = value;
    const flag = flagOf(setting.env);
    flagOptions[flag] = { type: 'string' };
    flagToKey.set(flag, key);
  }
  const { values } = parseArgs({ args: argv, options: flagOptions, strict: true });
  for (const [flag, value] of Object.entries(values)) {
    const key = flagToKey.get(flag);
    if (key !== undefined && typeof value === 'string') input[key] = value;
  }
  return resolveConfig(input as ConfigInput);
}

/** The documented table of settings, for `--help` and docs. */
export function describeSettings(): Array<{ env: string; flag: string; default: unknown; doc: string }> {
  return Object.values(SETTINGS).map((s) => ({
    env: s.env,
    doc: s.doc,
    flag: `--${flagOf(s.env)}`,
    default: s.schema.safeParse(undefined).data,
  }));
}
