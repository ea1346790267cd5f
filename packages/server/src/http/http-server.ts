import { describeInvalid, NatterError, toNatterError } from '@natter/protocol';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { AttachmentService } from '../attachments/attachment-service.js';
import type { AccountService } from '../auth/account-service.js';
import type { Identity, TokenVerifier } from '../auth/token-verifier.js';
import type { ConversationService } from '../chat/conversation-service.js';
import type { SearchService } from '../chat/search-service.js';
import type { TrustedProxy } from '../limits/client-address.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../limits/json-depth.js';
import type { Metrics } from '../metrics.js';
import type { UserSearch } from '../users/user-search.js';
import { type AccountLimits, registerAccountRoutes } from './account-routes.js';
import { registerAttachmentRoutes } from './attachment-routes.js';
import { registerAvatarRoutes } from './avatar-routes.js';
import {
  type ConnectionLimits,
  capConnectionsPerAddress,
  closeRefusedUpgrades,
  connectionOptions,
} from './connection-limits.js';
import { registerConversationRoutes } from './conversation-routes.js';
import { errorBody, retryAfterSeconds } from './error-answer.js';
import { registerOpsRoutes } from './ops-routes.js';
import { type PushRouteDeps, registerPushRoutes } from './push-routes.js';
import { registerSearchRoutes } from './search-routes.js';
import { registerServerApiRoutes, type ServerApiDeps } from './server-api-routes.js';
import { registerStreamRoutes, type StreamRouteDeps } from './stream-routes.js';
import { registerUserRoutes } from './user-routes.js';
import { registerWebRoutes, type WebAppOptions } from './web-routes.js';
import { registerWebhookRoutes, type WebhookRouteDeps } from './webhook-routes.js';

export interface HttpDeps {
  log: Logger;
  verifier: TokenVerifier;
  accounts: AccountService;
  conversations: ConversationService;
  search: SearchService;
  userSearch: UserSearch;
  metrics: Metrics;
  isReady: () => boolean;
  accountLimits: AccountLimits;
  /** The built web app to serve at `/`, if any. */
  web: WebAppOptions | null;
  /** Which peers' X-Forwarded-For gives `request.ip` (NATTER_TRUST_PROXY). */
  trustProxy: TrustedProxy;
  connectionLimits: ConnectionLimits;
  /** The server API (/v1/server) for product backends holding an API key. */
  serverApi: ServerApiDeps;
  /** Push registration, when the server has a push queue. */
  push?: PushRouteDeps;
  /** Attachment uploads and downloads, and the largest file taken. */
  attachments: { service: AttachmentService; maxBytes: number };
  /** The HTTP fallback transport (SSE or long polls, and POSTed frames). */
  streams?: StreamRouteDeps;
  webhooks?: WebhookRouteDeps;
}

/** Helpers every route module uses: bearer authentication and body validation. */
export interface RouteKit {
  identify(request: FastifyRequest): Promise<Identity>;
  /** The token of `Authorization: Bearer <token>`; null when absent or malformed. */
  bearer(request: FastifyRequest): string | null;
  parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S>;
}

/** The HTTP API: accounts, users, conversation management, history, health, metrics, and the web app. */
export function createHttpServer(deps: HttpDeps): FastifyInstance {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: 256 * 1024,
    trustProxy: deps.trustProxy,
    ...connectionOptions(deps.connectionLimits, deps.metrics),
    // Every id fits (user ids are up to 128 characters); a longer path segment gets bad_request.
    routerOptions: { maxParamLength: MAX_ID_LENGTH },
    frameworkErrors: (thrown, request, reply) => answerError(thrown, request, reply),
  });
  capConnectionsPerAddress(
    app.server,
    deps.connectionLimits.maxHttpConnectionsPerIp,
    deps.trustProxy,
    deps.metrics,
  );
  closeRefusedUpgrades(app.server);

  function answerError(thrown: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const error = fromFastify(thrown);
    if (error.code === 'internal') request.log.error({ err: thrown }, 'request failed');
    deps.metrics.errors.inc({ code: error.code });
    const retryAfter = retryAfterSeconds(error);
    if (retryAfter !== undefined) reply.header('Retry-After', retryAfter);
    return reply.status(error.status).send(errorBody(error));
  }
  app.setErrorHandler(answerError);

  // Bodies are JSON only: any other Content-Type, or none, is refused (fromFastify names the
  // header). Nesting is bounded before Fastify's own parser (which keeps its prototype-poisoning
  // checks) runs, since every later walk over the body (validation, errors) recurses.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (exceedsJsonDepth(body as string))
      done(
        new NatterError('bad_request', `The body is nested deeper than ${MAX_JSON_DEPTH} levels.`),
        undefined,
      );
    else parseJson(request, body as string, done);
  });
  app.setNotFoundHandler(() => {
    throw new NatterError('not_found');
  });

  const kit: RouteKit = {
    async identify(request) {
      const token = kit.bearer(request);
      if (token === null) throw new NatterError('unauthenticated');
      return deps.verifier.verify(token);
    },
    bearer(request) {
      const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
      return match ? match[1]! : null;
    },
    parse(schema, value) {
      const parsed = schema.safeParse(value ?? {});
      if (parsed.success) return parsed.data;
      throw new NatterError('bad_request', describeInvalid(parsed.error.issues, 'body'));
    },
  };

  registerAccountRoutes(app, kit, deps.accounts, deps.accountLimits);
  registerConversationRoutes(app, kit, deps.conversations, (username) =>
    deps.accounts.userIdByUsername(username),
  );
  registerUserRoutes(app, kit, deps.accounts, deps.conversations, deps.userSearch);
  registerAvatarRoutes(app, kit, deps.accounts);
  registerAttachmentRoutes(
    app,
    kit,
    deps.attachments.service,
    (userId, conversationId, seq) => visibleMessage(deps.conversations, userId, conversationId, seq),
    deps.attachments.maxBytes,
  );
  registerSearchRoutes(app, kit, deps.search);
  registerServerApiRoutes(app, kit, deps.serverApi);
  registerOpsRoutes(app, deps.metrics, deps.isReady);
  if (deps.push) registerPushRoutes(app, kit, deps.push);
  if (deps.streams) registerStreamRoutes(app, deps.streams);
  if (deps.webhooks) registerWebhookRoutes(app, kit, deps.webhooks);
  if (deps.web) registerWebRoutes(app, deps.web, deps.log);
  return app;
}

const MAX_ID_LENGTH = 128;

function fromFastify(thrown: unknown): NatterError {
  if (thrown instanceof NatterError) return thrown;
  const { statusCode: status, code } = thrown as { statusCode?: number; code?: string };
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return new NatterError('bad_request', 'Send the body as JSON with Content-Type: application/json.');
  if (code === 'FST_ERR_MAX_PARAM_LENGTH')
    return new NatterError('bad_request', `A path segment is longer than ${MAX_ID_LENGTH} characters.`);
  if (status === 413) return new NatterError('bad_request', 'The request body is too large.');
  if (status !== undefined && status >= 400 && status < 500) {
    return new NatterError('bad_request', (thrown as Error).message);
  }
  return toNatterError(thrown);
}

/**
 * The message at `seq` if `userId` is a member now and it is in their history, else null: a former
 * member keeps the text they saw but no longer gets its media.
 */
async function visibleMessage(
  conversations: ConversationService,
  userId: string,
  conversationId: string,
  seq: number,
) {
  if ((await conversations.summary(userId, conversationId)).left_seq !== null) return null;
  const page = await conversations.history(userId, conversationId, seq + 1, 1);
  return page.events.find((event) => event.seq === seq) ?? null;
}
