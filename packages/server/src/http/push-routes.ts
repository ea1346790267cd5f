import { NatterError, type PushConfigAnswer, PushDeviceBody, PushDeviceRemoval } from '@natter/protocol';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../clock.js';
import type { PushProvider, PushProviderName } from '../push/push-provider.js';
import type { PushStore } from '../push/push-store.js';
import type { RouteKit } from './http-server.js';

export interface PushRouteDeps {
  store: PushStore;
  providers: ReadonlyMap<PushProviderName, PushProvider>;
  vapidPublicKey: string | null;
  clock: Clock;
}

/**
 * Push registration: GET /v1/push/config (the VAPID public key a browser subscribes with, and the
 * providers that are on), POST /v1/push/devices (register this device), DELETE /v1/push/devices.
 */
export function registerPushRoutes(app: FastifyInstance, kit: RouteKit, deps: PushRouteDeps): void {
  app.get('/v1/push/config', async () => {
    return {
      vapid_public_key: deps.providers.has('webpush') ? deps.vapidPublicKey : null,
      providers: [...deps.providers.keys()],
    } satisfies PushConfigAnswer;
  });

  app.post('/v1/push/devices', async (request, reply) => {
    const { userId, sessionKey } = await kit.identify(request);
    const body = kit.parse(PushDeviceBody, request.body);
    if (!deps.providers.has(body.provider)) {
      throw new NatterError(
        'bad_request',
        `Push provider ${body.provider} is not configured on this server.`,
      );
    }
    await deps.store.registerDevice({
      userId,
      // A built-in session names one device for as long as it lasts. A JWT is refreshed by its
      // issuer, so its key changes while the device stays: such devices go by their user.
      sessionKey: sessionKey.startsWith('jwt:') ? null : sessionKey,
      provider: body.provider,
      token: body.provider === 'webpush' ? body.endpoint : body.token,
      keys: body.provider === 'webpush' ? body.keys : null,
      createdAt: deps.clock.now(),
    });
    return reply.status(204).send();
  });

  app.delete('/v1/push/devices', async (request, reply) => {
    const { userId } = await kit.identify(request);
    const { token } = kit.parse(PushDeviceRemoval, request.body);
    // Only the owner's own device goes; someone else's token reads as unknown (nothing happens).
    const mine = await deps.store.devicesOf(userId);
    if (mine.some((d) => d.token === token)) await deps.store.removeDevice(token);
    return reply.status(204).send();
  });
}
