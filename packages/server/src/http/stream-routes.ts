import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { NatterError } from '@natter/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../clock.js';
import { HttpStream } from '../gateway/http-stream.js';
import { isOriginAllowed } from '../gateway/origin-policy.js';
import type { Inbound, Socket } from '../gateway/socket.js';
import type { Corkable } from '../gateway/write-batcher.js';
import { errorBody } from './error-answer.js';

/** The gateway as the HTTP fallback transport sees it: it admits and accepts connections. */
export interface StreamGateway {
  admit(request: IncomingMessage): { address: string } | { status: 403 | 503 };
  accept(socket: Socket, transport: Corkable, address: string): Inbound;
}

export interface StreamRouteDeps {
  gateway: StreamGateway;
  clock: Clock;
  allowedOrigins: readonly string[];
  maxFrameBytes: number;
  maxBufferedBytes: number;
  pollTimeoutMs: number;
}

/** A POST carries at most this many frames' worth of bytes. */
const FRAMES_PER_POST = 32;
/** WebSocket close code for a frame over the size limit, as ws sends it. */
const TOO_BIG = 1009;

interface Entry {
  stream: HttpStream;
  inbound: Inbound;
}

/**
 * The HTTP fallback transport (docs/protocol.md §2.1): a client that cannot open a WebSocket opens
 * a stream, posts its frames as NDJSON, and reads the server's as Server-Sent Events or long
 * polls. Each stream is one gateway connection, with the WebSocket's every rule. Streams live on
 * the node that opened them; an unknown id is 404, and the client opens a new stream and resumes.
 */
export function registerStreamRoutes(app: FastifyInstance, deps: StreamRouteDeps): void {
  const streams = new Map<string, Entry>();
  const bodyLimit = FRAMES_PER_POST * deps.maxFrameBytes;

  const find = (request: FastifyRequest<{ Params: { id: string } }>): Entry => {
    if (!isOriginAllowed(request.raw, deps.allowedOrigins)) throw new NatterError('forbidden');
    const entry = streams.get(request.params.id);
    if (!entry || entry.stream.ended) throw new NatterError('not_found', 'No such stream: open a new one.');
    return entry;
  };

  app.post('/v1/stream', async (request, reply) => {
    const admission = deps.gateway.admit(request.raw);
    if ('status' in admission) {
      if (admission.status === 503) reply.header('Retry-After', '5');
      const error =
        admission.status === 403 ? new NatterError('forbidden') : new NatterError('server_draining');
      return reply.status(admission.status).send(errorBody(error));
    }
    const id = `st_${randomBytes(18).toString('base64url')}`;
    const stream = new HttpStream(deps.clock, deps.pollTimeoutMs, deps.maxBufferedBytes);
    const inbound = deps.gateway.accept(stream, stream, admission.address);
    streams.set(id, { stream, inbound });
    stream.onEnded = () => {
      streams.delete(id);
      inbound.closed();
    };
    return reply.status(201).send({ stream_id: id, poll_timeout_ms: deps.pollTimeoutMs });
  });

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    // A body over the limit is 413 (the wire contract), not the API's generic 400.
    scope.setErrorHandler((error: { statusCode?: number }, _request, reply) => {
      if (error.statusCode !== 413) throw error;
      const tooBig = new NatterError(
        'frame_too_large',
        `A POST carries at most ${bodyLimit} bytes (${FRAMES_PER_POST} × max_frame_bytes).`,
      );
      return reply.status(413).send(errorBody(tooBig));
    });
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit }, (_request, body, done) =>
      done(null, body),
    );
    scope.post<{ Params: { id: string } }>('/v1/stream/:id', { bodyLimit }, async (request, reply) => {
      const { stream, inbound } = find(request);
      const body = typeof request.body === 'string' ? request.body : '';
      for (const line of body.split('\n')) {
        const frame = line.endsWith('\r') ? line.slice(0, -1) : line;
        if (frame.trim() === '') continue;
        if (Buffer.byteLength(frame) > deps.maxFrameBytes) {
          stream.close(TOO_BIG, 'Frame too large');
          break;
        }
        inbound.message(frame, false);
      }
      return reply.status(204).send();
    });
  });

  const attach = (kind: 'sse' | 'poll') => async (request: FastifyRequest, reply: FastifyReply) => {
    const typed = request as FastifyRequest<{ Params: { id: string }; Querystring: { after?: string } }>;
    const { stream } = find(typed);
    const header = request.headers['last-event-id'];
    const after = parseAfter(typed.query.after ?? (typeof header === 'string' ? header : undefined));
    if (after === null) throw new NatterError('bad_request', '`after` must be a frame number (0 or more).');
    reply.hijack();
    if (!stream.attach(kind, reply.raw, after)) {
      const error = new NatterError('not_found', 'The stream cannot resume from there: open a new one.');
      reply.raw.writeHead(404, { 'Content-Type': 'application/json' });
      reply.raw.end(JSON.stringify(errorBody(error)));
    }
  };
  app.get('/v1/stream/:id/events', attach('sse'));
  app.get('/v1/stream/:id/poll', attach('poll'));

  app.delete<{ Params: { id: string } }>('/v1/stream/:id', async (request, reply) => {
    find(request).stream.terminate();
    return reply.status(204).send();
  });
}

function parseAfter(text: string | undefined): number | null {
  if (text === undefined || text === '') return 0;
  return /^\d{1,15}$/.test(text) ? Number(text) : null;
}
