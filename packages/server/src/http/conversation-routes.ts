import {
  AddMemberBody,
  CreateDirectBody,
  CreateGroupBody,
  HistoryQuery,
  NatterError,
  SetRoleBody,
  UpdateGroupBody,
} from '@natter/protocol';
import type { FastifyInstance } from 'fastify';
import type { ConversationService } from '../chat/conversation-service.js';
import type { RouteKit } from './http-server.js';

interface ConversationParams {
  id: string;
}

interface MemberParams extends ConversationParams {
  userId: string;
}

export function registerConversationRoutes(
  app: FastifyInstance,
  kit: RouteKit,
  conversations: ConversationService,
  resolveUsername: (username: string) => Promise<string | null>,
): void {
  app.post('/v1/conversations/direct', async (request) => {
    const { userId } = await kit.identify(request);
    const body = kit.parse(CreateDirectBody, request.body);
    const peerId = 'user_id' in body ? body.user_id : await resolveUsername(body.username);
    if (peerId === null) throw new NatterError('user_not_found');
    return { conversation: await conversations.createDirect(userId, peerId) };
  });

  app.post('/v1/conversations', async (request, reply) => {
    const { userId } = await kit.identify(request);
    const body = kit.parse(CreateGroupBody, request.body);
    const conversation =
      body.kind === 'channel'
        ? await conversations.createChannel(userId, body.title, body.member_ids, body.posting ?? 'everyone')
        : await conversations.createGroup(userId, body.title, body.member_ids);
    return reply.status(201).send({ conversation });
  });

  app.get('/v1/conversations', async (request) => {
    const { userId } = await kit.identify(request);
    return { conversations: await conversations.list(userId) };
  });

  app.get<{ Params: ConversationParams }>('/v1/conversations/:id', async (request) => {
    const { userId } = await kit.identify(request);
    const id = request.params.id;
    return {
      conversation: await conversations.summary(userId, id),
      members: await conversations.members(userId, id),
    };
  });

  app.patch<{ Params: ConversationParams }>('/v1/conversations/:id', async (request) => {
    const { userId } = await kit.identify(request);
    const body = kit.parse(UpdateGroupBody, request.body);
    return {
      conversation: await conversations.update(userId, request.params.id, {
        ...(body.title === undefined ? {} : { title: body.title }),
        ...(body.group_mentions === undefined ? {} : { groupMentions: body.group_mentions }),
        ...(body.posting === undefined ? {} : { posting: body.posting }),
      }),
    };
  });

  app.post<{ Params: ConversationParams }>('/v1/conversations/:id/members', async (request) => {
    const { userId } = await kit.identify(request);
    const body = kit.parse(AddMemberBody, request.body);
    return { seq: await conversations.addMember(userId, request.params.id, body.user_id, body.role) };
  });

  app.delete<{ Params: MemberParams }>('/v1/conversations/:id/members/:userId', async (request) => {
    const { userId } = await kit.identify(request);
    return { seq: await conversations.removeMember(userId, request.params.id, request.params.userId) };
  });

  app.patch<{ Params: MemberParams }>('/v1/conversations/:id/members/:userId', async (request) => {
    const { userId } = await kit.identify(request);
    const { role } = kit.parse(SetRoleBody, request.body);
    return { seq: await conversations.setRole(userId, request.params.id, request.params.userId, role) };
  });

  app.get<{ Params: ConversationParams }>('/v1/conversations/:id/events', async (request) => {
    const { userId } = await kit.identify(request);
    const query = kit.parse(HistoryQuery, request.query);
    return conversations.history(userId, request.params.id, query.before_seq, query.limit);
  });
}
