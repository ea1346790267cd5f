import { parseArgs } from 'node:util';
import { z } from 'zod';

/**
 * Every setting, with its environment variable and default. `--flag value` on the command line
 * overrides the environment (flag = the variable name without NATTER_, lower-case, dashes:
 * NATTER_DATA_DIR -> --data-dir). docs/operations.md lists them all.
 */
const SETTINGS = {
  port: { env: 'PORT', schema: z.coerce.number().int().min(0).max(65535).default(8080) },
  host: { env: 'NATTER_HOST', schema: z.string().default('0.0.0.0') },
  dataDir: { env: 'NATTER_DATA_DIR', schema: z.string().default('./data') },
  logLevel: {
    env: 'NATTER_LOG_LEVEL',
    schema: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  },
  allowedOrigins: { env: 'NATTER_ALLOWED_ORIGINS', schema: list().default([]) },
  registration: { env: 'NATTER_REGISTRATION', schema: z.enum(['open', 'closed']).default('open') },
  sessionTtlSeconds: { env: 'NATTER_SESSION_TTL_SECONDS', schema: int(1).default(30 * 24 * 3600) },
  passwordHashCost: { env: 'NATTER_PASSWORD_HASH_COST', schema: int(10, 20).default(15) },
  jwtSecret: { env: 'NATTER_JWT_SECRET', schema: z.string().min(16).optional() },
  jwtPublicKey: { env: 'NATTER_JWT_PUBLIC_KEY', schema: z.string().optional() },
  jwtJwksFile: { env: 'NATTER_JWT_JWKS_FILE', schema: z.string().optional() },
  jwtIssuer: { env: 'NATTER_JWT_ISSUER', schema: z.string().optional() },
  jwtAudience: { env: 'NATTER_JWT_AUDIENCE', schema: z.string().optional() },
  authTimeoutMs: { env: 'NATTER_AUTH_TIMEOUT_MS', schema: int(100).default(10_000) },
  pingIntervalMs: { env: 'NATTER_PING_INTERVAL_MS', schema: int(50).default(25_000) },
  pingTimeoutMs: { env: 'NATTER_PING_TIMEOUT_MS', schema: int(100).default(60_000) },
  presenceTtlMs: { env: 'NATTER_PRESENCE_TTL_MS', schema: int(100).default(60_000) },
  typingTtlMs: { env: 'NATTER_TYPING_TTL_MS', schema: int(100).default(6_000) },
  typingMinIntervalMs: { env: 'NATTER_TYPING_MIN_INTERVAL_MS', schema: int(0).default(2_000) },
  maxFrameBytes: { env: 'NATTER_MAX_FRAME_BYTES', schema: int(1024).default(64 * 1024) },
  maxBodyBytes: { env: 'NATTER_MAX_BODY_BYTES', schema: int(1).default(16 * 1024) },
  sendsPerSecond: { env: 'NATTER_SENDS_PER_SECOND', schema: int(1).default(50) },
  sendBurst: { env: 'NATTER_SEND_BURST', schema: int(1).default(200) },
  framesPerSecond: { env: 'NATTER_FRAMES_PER_SECOND', schema: int(1).default(200) },
  frameBurst: { env: 'NATTER_FRAME_BURST', schema: int(1).default(400) },
  maxInvalidFrames: { env: 'NATTER_MAX_INVALID_FRAMES', schema: int(1).default(20) },
  maxConnectionsPerUser: { env: 'NATTER_MAX_CONNECTIONS_PER_USER', schema: int(1).default(20) },
  maxUnauthenticated: { env: 'NATTER_MAX_UNAUTHENTICATED', schema: int(1).default(10_000) },
  maxBufferedBytes: { env: 'NATTER_MAX_BUFFERED_BYTES', schema: int(1024).default(4 * 1024 * 1024) },
  perMessageDeflate: { env: 'NATTER_PERMESSAGE_DEFLATE', schema: bool().default(false) },
  drainMaxDelayMs: { env: 'NATTER_DRAIN_MAX_DELAY_MS', schema: int(0).default(5_000) },
  syncEventsPerConversation: {
    env: 'NATTER_SYNC_EVENTS_PER_CONVERSATION',
    schema: int(1, 1000).default(100),
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
  return out as Config;
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
    const flag = setting.env
      .replace(/^NATTER_/, '')
      .toLowerCase()
      .replaceAll('_', '-');
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
export function describeSettings(): Array<{ env: string; flag: string; default: unknown }> {
  return Object.values(SETTINGS).map((s) => ({
    env: s.env,
    flag: `--${s.env
      .replace(/^NATTER_/, '')
      .toLowerCase()
      .replaceAll('_', '-')}`,
    default: s.schema.safeParse(undefined).data,
  }));
}
