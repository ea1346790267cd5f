import {
  ServerActorBody,
  ServerAddMemberBody,
  ServerCreateGroupBody,
  ServerCreateUserBody,
  ServerCreateWebhookBody,
  ServerDeliveriesQuery,
  ServerHistoryQuery,
  ServerSendBody,
  ServerUpdateWebhookBody,
} from '@natter/protocol';
import { z } from 'zod';

/** Each operation of the server API: its body or query schema is the one the route validates with. */
const OPERATIONS = [
  {
    method: 'post',
    path: '/v1/server/users/{userId}/sessions/revoke',
    scope: 'users',
    summary: 'Revoke every built-in session of the user; answers {revoked}',
    status: 200,
  },
  {
    method: 'post',
    path: '/v1/server/users',
    scope: 'users',
    summary: 'Create a user (idempotent)',
    body: 'ServerCreateUserBody',
    status: 201,
  },
  {
    method: 'post',
    path: '/v1/server/conversations',
    scope: 'conversations',
    summary: 'Create a group as creator_id',
    body: 'ServerCreateGroupBody',
    status: 201,
  },
  {
    method: 'post',
    path: '/v1/server/conversations/{id}/members',
    scope: 'conversations',
    summary: 'Add a member as actor_id',
    body: 'ServerAddMemberBody',
    status: 200,
  },
  {
    method: 'delete',
    path: '/v1/server/conversations/{id}/members/{userId}',
    scope: 'conversations',
    summary: 'Remove a member as actor_id',
    query: 'ServerActorBody',
    status: 200,
  },
  {
    method: 'post',
    path: '/v1/server/conversations/{id}/messages',
    scope: 'messages',
    summary: 'Send as sender_id; a retry with the same client_msg_id returns the original ack',
    body: 'ServerSendBody',
    status: 200,
  },
  {
    method: 'get',
    path: '/v1/server/conversations/{id}/events',
    scope: 'messages',
    summary: 'History as user_id sees it, newest page first',
    query: 'ServerHistoryQuery',
    status: 200,
  },
  {
    method: 'post',
    path: '/v1/server/webhooks',
    scope: 'webhooks',
    summary: 'Register a URL for event types; answers {webhook} with its signing secret, shown this once',
    body: 'ServerCreateWebhookBody',
    status: 201,
  },
  { method: 'get', path: '/v1/server/webhooks', scope: 'webhooks', summary: 'List webhooks', status: 200 },
  { method: 'get', path: '/v1/server/webhooks/{id}', scope: 'webhooks', summary: 'One webhook', status: 200 },
  {
    method: 'patch',
    path: '/v1/server/webhooks/{id}',
    scope: 'webhooks',
    summary: 'Change URL, event types, description or enabled',
    body: 'ServerUpdateWebhookBody',
    status: 200,
  },
  { method: 'delete', path: '/v1/server/webhooks/{id}', scope: 'webhooks', summary: 'Delete', status: 204 },
  {
    method: 'post',
    path: '/v1/server/webhooks/{id}/secret',
    scope: 'webhooks',
    summary: 'Rotate the signing secret; answers {secret}',
    status: 200,
  },
  {
    method: 'get',
    path: '/v1/server/webhooks/{id}/deliveries',
    scope: 'webhooks',
    summary: 'The delivery log, newest first: {deliveries, has_more}',
    query: 'ServerDeliveriesQuery',
    status: 200,
  },
  {
    method: 'get',
    path: '/v1/server/webhooks/{id}/deliveries/{deliveryId}',
    scope: 'webhooks',
    summary: 'One delivery with its payload and every attempt',
    status: 200,
  },
  {
    method: 'post',
    path: '/v1/server/webhooks/{id}/deliveries/{deliveryId}/replay',
    scope: 'webhooks',
    summary: 'Deliver again, whatever it ended as',
    status: 202,
  },
] as const;

const SCHEMAS = {
  ServerCreateUserBody,
  ServerCreateGroupBody,
  ServerAddMemberBody,
  ServerActorBody,
  ServerSendBody,
  ServerHistoryQuery,
  ServerCreateWebhookBody,
  ServerUpdateWebhookBody,
  ServerDeliveriesQuery,
};

type JsonObject = Record<string, unknown>;

/**
 * The server API as an OpenAPI 3.1 document, generated from the zod schemas the routes validate
 * with (zod's own `toJSONSchema`: OpenAPI 3.1 schemas are JSON Schema 2020-12), so the document
 * cannot drift from what the server accepts. Served at GET /v1/server/openapi.json.
 */
export function serverApiOpenApi(): JsonObject {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(SCHEMAS)) registry.add(schema, { id });
  const generated = z.toJSONSchema(registry, { io: 'input', uri: (id) => `#/components/schemas/${id}` });
  // Shared definitions (the recursive JSON of `metadata`) become components of their own.
  const text = JSON.stringify(generated.schemas).replaceAll(
    '#/components/schemas/__shared#/$defs/',
    '#/components/schemas/',
  );
  const { __shared: shared, ...named } = JSON.parse(text) as Record<string, JsonObject>;
  const schemas: Record<string, JsonObject> = { ...((shared?.$defs as Record<string, JsonObject>) ?? {}) };
  for (const [id, schema] of Object.entries(named)) {
    const { $schema: _schema, $id: _id, ...rest } = schema;
    schemas[id] = rest;
  }

  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const operation of OPERATIONS) {
    const pathParams = [...operation.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
      name,
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const query = 'query' in operation ? schemas[operation.query] : undefined;
    const queryParams = Object.entries((query?.properties as Record<string, JsonObject>) ?? {}).map(
      ([name, schema]) => ({
        name,
        in: 'query',
        required: ((query?.required as string[]) ?? []).includes(name),
        schema,
      }),
    );
    paths[operation.path] ??= {};
    paths[operation.path]![operation.method] = {
      summary: operation.summary,
      description: `Needs an API key with the \`${operation.scope}\` scope.`,
      parameters: [...pathParams, ...queryParams],
      ...('body' in operation
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: { $ref: `#/components/schemas/${operation.body}` } } },
            },
          }
        : {}),
      responses: {
        [operation.status]: { description: 'Done.' },
        default: { $ref: '#/components/responses/Error' },
      },
    };
  }

  return {
    openapi: '3.1.0',
    info: { title: 'Natter server API', version: '1' },
    security: [{ apiKey: [] }],
    paths,
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'An API key (NATTER_SERVER_API_KEYS).' },
      },
      schemas,
      responses: {
        Error: {
          description:
            'An error from the catalogue (docs/protocol.md): 401 missing or unknown key, 403 scope, 404 not found or not a member, 400 validation.',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  error: {
                    type: 'object',
                    properties: {
                      code: { type: 'string' },
                      message: { type: 'string' },
                      retryable: { type: 'boolean' },
                      retry_after_ms: { type: 'integer' },
                    },
                    required: ['code', 'message', 'retryable'],
                  },
                },
              },
            },
          },
        },
      },
    },
  };
}
