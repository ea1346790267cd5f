import {
  type ApiKeyScope,
  ServerActorBody,
  ServerAddMemberBody,
  ServerCreateGroupBody,
  ServerCreateUserBody,
  ServerHistoryQuery,
  ServerSendBody,
} from '@natter/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccountService } from '../auth/account-service.js';
import type { ApiKeys } from '../auth/api-keys.js';
import type { ChatService } from '../chat/chat-service.js';
import type { ConversationService } from '../chat/conversation-service.js';
import type { RouteKit } from './http-server.js';
import { serverApiOpenApi } from './server-api-openapi.js';

export interface ServerApiDeps {
  keys: ApiKeys;
  accounts: AccountService;
  conversations: ConversationService;
  chat: ChatService;
}

interface ConversationParams {
  id: string;
}

interface MemberParams extends ConversationParams {
  userId: string;
}

/**
 * The server API: a product's backend, holding an API key, acts as the user it names. Every route
 * goes through the same services as the WebSocket path, so membership, ordering, idempotency and
 * limits are the same rules.
 */
export function registerServerApiRoutes(app: FastifyInstance, kit: RouteKit, deps: ServerApiDeps): void {
  const { keys, accounts, conversations, chat } = deps;
  const allow = (request: FastifyRequest, scope: ApiKeyScope) => keys.authorize(kit.bearer(request), scope);

  // Public like the docs it mirrors: it names no key, user or conversation.
  const openApi = serverApiOpenApi();
  app.get('/v1/server/openapi.json', async () => openApi);

  app.post('/v1/server/users', async (request, reply) => {
    allow(request, 'users');
    const body = kit.parse(ServerCreateUserBody, request.body);
    await accounts.ensureUser(body.user_id);
    if (body.display_name !== undefined) await accounts.setDisplayName(body.user_id, body.display_name);
    if (body.bot !== undefined) await accounts.setBot(body.user_id, body.bot);
    return reply.status(201).send({ user_id: body.user_id });
  });

  app.post<{ Params: { userId: string } }>('/v1/server/users/:userId/sessions/revoke', async (request) => {
    allow(request, 'users');
    return { revoked: await accounts.revokeSessions(request.params.userId) };
  });

  app.post('/v1/server/conversations', async (request, reply) => {
    allow(request, 'conversations');
    const body = kit.parse(ServerCreateGroupBody, request.body);
    const conversation =
      body.kind === 'channel'
        ? await conversations.createChannel(
            body.creator_id,
            body.title,
            body.member_ids,
            body.posting ?? 'everyone',
          )
        : await conversations.createGroup(body.creator_id, body.title, body.member_ids);
    return reply.status(201).send({ conversation });
  });

  app.post<{ Params: ConversationParams }>('/v1/server/conversations/:id/members', async (request) => {
    allow(request, 'conversations');
    const body = kit.parse(ServerAddMemberBody, request.body);
    return { seq: await conversations.addMember(body.actor_id, request.params.id, body.user_id, body.role) };
  });

  app.delete<{ Params: MemberParams }>('/v1/server/conversations/:id/members/:userId', async (request) => {
    allow(request, 'conversations');
    const { actor_id: actorId } = kit.parse(ServerActorBody, request.query);
    return { seq: await conversations.removeMember(actorId, request.params.id, request.params.userId) };
  });

  app.post<{ Params: ConversationParams }>('/v1/server/conversations/:id/messages', async (request) => {
    allow(request, 'messages');
    const { sender_id: senderId, ...fields } = kit.parse(ServerSendBody, request.body);
    // A connection id no socket has: the sender's own sockets get the event like any other device's.
    const actor = { userId: senderId, deviceId: null, connectionId: 'server-api' };
    const {
      type: _type,
      re: _re,
      ...ack
    } = await chat.append(actor, {
      ...fields,
      type: 'send',
      id: fields.client_msg_id,
      conversation_id: request.params.id,
    });
    return ack;
  });

  app.get<{ Params: ConversationParams }>('/v1/server/conversations/:id/events', async (request) => {
    allow(request, 'messages');
    const query = kit.parse(ServerHistoryQuery, request.query);
    return conversations.history(query.user_id, request.params.id, query.before_seq, query.limit);
  });
}
