import { SearchParams } from '@natter/protocol';
import type { FastifyInstance } from 'fastify';
import type { SearchService } from '../chat/search-service.js';
import type { RouteKit } from './http-server.js';

/** GET /v1/search: the `search` frame over HTTP, same answer (`results`, `next_cursor`) and errors. */
export function registerSearchRoutes(app: FastifyInstance, kit: RouteKit, search: SearchService): void {
  app.get('/v1/search', async (request) => {
    const { userId } = await kit.identify(request);
    const { type: _type, id: _id, ...query } = kit.parse(SearchParams, request.query);
    return search.search(userId, query);
  });
}
