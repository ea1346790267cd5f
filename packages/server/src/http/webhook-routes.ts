import { randomBytes } from 'node:crypto';
import {
  NatterError,
  ServerCreateWebhookBody,
  ServerDeliveriesQuery,
  ServerUpdateWebhookBody,
} from '@natter/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiKeys } from '../auth/api-keys.js';
import type { Clock } from '../clock.js';
import type { WebhookDispatcher } from '../webhooks/webhook-dispatcher.js';
import type { Webhook, WebhookAttempt, WebhookDelivery, WebhookStore } from '../webhooks/webhook-store.js';
import type { RouteKit } from './http-server.js';

export interface WebhookRouteDeps {
  keys: ApiKeys;
  store: WebhookStore;
  dispatcher: WebhookDispatcher;
  clock: Clock;
}

interface WebhookParams {
  id: string;
}

interface DeliveryParams extends WebhookParams {
  deliveryId: string;
}

const DEFAULT_PAGE = 50;

/**
 * Webhooks of the server API (`/v1/server/webhooks`, scope `webhooks`): registration per event
 * type, the signing secret (shown at creation and at rotation only), the delivery log and replay.
 */
export function registerWebhookRoutes(app: FastifyInstance, kit: RouteKit, deps: WebhookRouteDeps): void {
  const { keys, store, dispatcher, clock } = deps;
  const allow = (request: FastifyRequest) => keys.authorize(kit.bearer(request), 'webhooks');
  const existing = async (id: string): Promise<Webhook> => {
    const webhook = await store.webhook(id);
    if (!webhook) throw new NatterError('not_found');
    return webhook;
  };

  app.post('/v1/server/webhooks', async (request, reply) => {
    allow(request);
    const body = kit.parse(ServerCreateWebhookBody, request.body);
    const webhook = await store.createWebhook({
      id: `wh_${randomBytes(12).toString('base64url')}`,
      url: body.url,
      events: [...new Set(body.events)],
      description: body.description ?? null,
      enabled: true,
      secret: newSecret(),
      createdAt: clock.now(),
    });
    dispatcher.changed();
    return reply.status(201).send({ webhook: { ...webhookView(webhook), secret: webhook.secret } });
  });

  app.get('/v1/server/webhooks', async (request) => {
    allow(request);
    return { webhooks: (await store.webhooks()).map(webhookView) };
  });

  app.get<{ Params: WebhookParams }>('/v1/server/webhooks/:id', async (request) => {
    allow(request);
    return { webhook: webhookView(await existing(request.params.id)) };
  });

  app.patch<{ Params: WebhookParams }>('/v1/server/webhooks/:id', async (request) => {
    allow(request);
    const body = kit.parse(ServerUpdateWebhookBody, request.body);
    const updated = await store.updateWebhook(request.params.id, {
      ...(body.url === undefined ? {} : { url: body.url }),
      ...(body.events === undefined ? {} : { events: [...new Set(body.events)] }),
      ...(body.description === undefined ? {} : { description: body.description }),
      ...(body.enabled === undefined ? {} : { enabled: body.enabled }),
    });
    if (!updated) throw new NatterError('not_found');
    dispatcher.changed();
    return { webhook: webhookView(updated) };
  });

  app.delete<{ Params: WebhookParams }>('/v1/server/webhooks/:id', async (request, reply) => {
    allow(request);
    if (!(await store.deleteWebhook(request.params.id))) throw new NatterError('not_found');
    return reply.status(204).send();
  });

  app.post<{ Params: WebhookParams }>('/v1/server/webhooks/:id/secret', async (request) => {
    allow(request);
    await existing(request.params.id);
    const secret = newSecret();
    await store.updateWebhook(request.params.id, { secret });
    return { secret };
  });

  app.get<{ Params: WebhookParams }>('/v1/server/webhooks/:id/deliveries', async (request) => {
    allow(request);
    const query = kit.parse(ServerDeliveriesQuery, request.query);
    await existing(request.params.id);
    const limit = query.limit ?? DEFAULT_PAGE;
    const page = await store.deliveries(request.params.id, query.before, limit + 1);
    return { deliveries: page.slice(0, limit).map(deliveryView), has_more: page.length > limit };
  });

  app.get<{ Params: DeliveryParams }>('/v1/server/webhooks/:id/deliveries/:deliveryId', async (request) => {
    allow(request);
    const delivery = await store.delivery(request.params.id, request.params.deliveryId);
    if (!delivery) throw new NatterError('not_found');
    const attempts = await store.attempts(delivery.id);
    return {
      delivery: { ...deliveryView(delivery), payload: JSON.parse(delivery.payload) as unknown },
      attempts: attempts.map(attemptView),
    };
  });

  app.post<{ Params: DeliveryParams }>(
    '/v1/server/webhooks/:id/deliveries/:deliveryId/replay',
    async (request, reply) => {
      allow(request);
      if (!(await store.replay(request.params.id, request.params.deliveryId, clock.now())))
        throw new NatterError('not_found');
      dispatcher.changed();
      return reply.status(202).send({ delivery_id: request.params.deliveryId, status: 'pending' });
    },
  );
}

function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

function webhookView(webhook: Webhook) {
  return {
    id: webhook.id,
    url: webhook.url,
    events: webhook.events,
    description: webhook.description,
    enabled: webhook.enabled,
    created_at: webhook.createdAt,
  };
}

function deliveryView(delivery: WebhookDelivery) {
  return {
    id: delivery.id,
    type: delivery.type,
    status: delivery.status,
    attempts: delivery.attempts,
    created_at: delivery.createdAt,
    next_attempt_at: delivery.status === 'pending' ? delivery.dueAt : null,
    last_status: delivery.lastStatus,
    last_error: delivery.lastError,
    delivered_at: delivery.deliveredAt,
  };
}

function attemptView(attempt: WebhookAttempt) {
  return {
    at: attempt.at,
    status_code: attempt.statusCode,
    error: attempt.error,
    duration_ms: attempt.durationMs,
  };
}
