import { LoginBody, RegisterBody } from '@natter/protocol';
import type { FastifyInstance } from 'fastify';
import type { AccountService } from '../auth/account-service.js';
import type { RouteKit } from './http-server.js';

export function registerAccountRoutes(app: FastifyInstance, kit: RouteKit, accounts: AccountService): void {
  app.post('/v1/accounts', async (request, reply) => {
    const user = await accounts.register(kit.parse(RegisterBody, request.body));
    return reply
      .status(201)
      .send({ user_id: user.id, username: user.username, display_name: user.displayName });
  });

  app.post('/v1/sessions', async (request, reply) => {
    const session = await accounts.login(kit.parse(LoginBody, request.body));
    return reply.status(201).send(session);
  });

  app.delete('/v1/sessions/current', async (request, reply) => {
    const identity = await kit.identify(request);
    await accounts.logout(identity.sessionKey);
    return reply.status(204).send();
  });

  app.get('/v1/me', async (request) => {
    const identity = await kit.identify(request);
    const user = await accounts.user(identity.userId);
    return {
      user_id: identity.userId,
      username: user?.username ?? null,
      display_name: user?.displayName ?? null,
    };
  });
}
