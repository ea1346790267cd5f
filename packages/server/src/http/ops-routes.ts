import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.js';

/** Liveness, readiness (false while draining) and Prometheus metrics. */
export function registerOpsRoutes(app: FastifyInstance, metrics: Metrics, isReady: () => boolean): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) =>
    isReady() ? { status: 'ready' } : reply.status(503).send({ status: 'draining' }),
  );
  app.get('/metrics', async (_request, reply) => {
    reply.header('Content-Type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
