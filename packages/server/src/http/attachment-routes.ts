import { CreateUploadRequest, NatterError } from '@natter/protocol';
import type { FastifyInstance } from 'fastify';
import {
  type AttachmentService,
  contentDisposition,
  type VisibleMessage,
} from '../attachments/attachment-service.js';
import type { RouteKit } from './http-server.js';

interface SignedQuery {
  expires?: string;
  signature?: string;
}

/**
 * Attachments over HTTP: ask for an upload (POST /v1/attachments, bearer), PUT the raw bytes to
 * the signed upload URL, and, as a member who can see the message, ask for a short-lived signed
 * download URL (GET /v1/conversations/:id/messages/:seq/attachments/:attachmentId) that serves the
 * bytes. Only this scope takes bodies of any type, up to the attachment size limit.
 */
export function registerAttachmentRoutes(
  app: FastifyInstance,
  kit: RouteKit,
  attachments: AttachmentService,
  visible: VisibleMessage,
  maxBytes: number,
): void {
  app.post('/v1/attachments', async (request, reply) => {
    const { userId } = await kit.identify(request);
    const ticket = await attachments.createUpload(userId, kit.parse(CreateUploadRequest, request.body));
    return reply.status(201).send(ticket);
  });

  app.get<{ Params: { id: string; seq: string; attachmentId: string } }>(
    '/v1/conversations/:id/messages/:seq/attachments/:attachmentId',
    async (request) => {
      const { userId } = await kit.identify(request);
      const seq = Number(request.params.seq);
      if (!Number.isSafeInteger(seq) || seq < 1)
        throw new NatterError('bad_request', 'seq must be a positive integer.');
      return attachments.downloadTicket(userId, request.params.id, seq, request.params.attachmentId, visible);
    },
  );

  app.get<{ Params: { attachmentId: string }; Querystring: SignedQuery }>(
    '/v1/attachments/:attachmentId',
    async (request, reply) => {
      const { expires = '', signature = '' } = request.query;
      const { ref, bytes } = await attachments.open(request.params.attachmentId, expires, signature);
      return reply
        .type(ref.type)
        .header('cache-control', 'private, max-age=300')
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "default-src 'none'")
        .header('content-disposition', contentDisposition(ref))
        .send(Buffer.from(bytes));
    },
  );

  app.post<{ Params: { attachmentId: string }; Querystring: SignedQuery }>(
    '/v1/attachments/:attachmentId/complete',
    async (request) => {
      const { expires = '', signature = '' } = request.query;
      return attachments.complete(request.params.attachmentId, expires, signature);
    },
  );

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBytes }, (_request, body, done) =>
      done(null, body),
    );
    scope.put<{ Params: { attachmentId: string }; Querystring: SignedQuery }>(
      '/v1/attachments/:attachmentId/content',
      { bodyLimit: maxBytes },
      async (request) => {
        const { expires = '', signature = '' } = request.query;
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        return attachments.receive(request.params.attachmentId, expires, signature, body);
      },
    );
  });
}
