import { LoginBody, RegisterBody, UpdateProfileBody } from '@natter/protocol';
import type { FastifyInstance } from 'fastify';
import type { AccountService } from '../auth/account-service.js';
import { KeyedRateLimit } from '../limits/keyed-rate-limit.js';
import { profileOf } from '../users/user-profile.js';
import type { RouteKit } from './http-server.js';

/**
 * Guessing passwords and mass sign-ups cost a scrypt hash each: both are throttled per client
 * address (`request.ip`, which honours NATTER_TRUST_PROXY), logins also per address and username.
 */
export interface AccountLimits {
  loginAttemptsPerMinute: number;
  loginAttemptsPerIpPerMinute: number;
  registrationsPerHour: number;
}

export function registerAccountRoutes(
  app: FastifyInstance,
  kit: RouteKit,
  accounts: AccountService,
  limits: AccountLimits,
): void {
  const logins = new KeyedRateLimit(limits.loginAttemptsPerMinute / 60, limits.loginAttemptsPerMinute);
  const loginsPerIp = new KeyedRateLimit(
    limits.loginAttemptsPerIpPerMinute / 60,
    limits.loginAttemptsPerIpPerMinute,
  );
  const registrations = new KeyedRateLimit(limits.registrationsPerHour / 3600, limits.registrationsPerHour);

  app.post('/v1/accounts', async (request, reply) => {
    registrations.take(request.ip);
    const user = await accounts.register(kit.parse(RegisterBody, request.body));
    return reply.status(201).send(profileOf(user));
  });

  app.post('/v1/sessions', async (request, reply) => {
    const body = kit.parse(LoginBody, request.body);
    loginsPerIp.take(request.ip);
    logins.take(`${request.ip}\n${body.username.toLowerCase()}`);
    const session = await accounts.login(body);
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
    if (!user) return { user_id: identity.userId, username: null, display_name: null, avatar: null };
    return profileOf(user);
  });

  app.patch('/v1/me', async (request) => {
    const { userId } = await kit.identify(request);
    const body = kit.parse(UpdateProfileBody, request.body);
    return profileOf(await accounts.setDisplayName(userId, body.display_name));
  });
}
