import { MAX_AVATAR_BYTES, NatterError } from '@natter/protocol';
import type { FastifyInstance } from 'fastify';
import type { AccountService } from '../auth/account-service.js';
import { avatarFrom } from '../users/avatar-image.js';
import { profileOf } from '../users/user-profile.js';
import type { RouteKit } from './http-server.js';

/** Room above the cap, so an oversized image gets the avatar's own error rather than a generic one. */
const BODY_LIMIT = MAX_AVATAR_BYTES * 2;

/**
 * Avatars: uploaded as the raw image bytes (PUT /v1/me/avatar; the type is sniffed from the
 * bytes, never taken from Content-Type), removed by DELETE, and served to signed-in users with
 * an ETag (its tag, the version in every profile) so that a revalidation costs a 304. Only this
 * scope takes bodies that are not JSON.
 */
export function registerAvatarRoutes(app: FastifyInstance, kit: RouteKit, accounts: AccountService): void {
  app.register(async (scope) => {
    for (const type of ['application/octet-stream', /^image\//])
      scope.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_request, body, done) =>
        done(null, body),
      );

    scope.put('/v1/me/avatar', { bodyLimit: BODY_LIMIT }, async (request) => {
      const { userId } = await kit.identify(request);
      if (!Buffer.isBuffer(request.body))
        throw new NatterError('bad_request', 'Send the image bytes as the body (Content-Type: image/*).');
      return profileOf(await accounts.setAvatar(userId, avatarFrom(request.body)));
    });

    scope.delete('/v1/me/avatar', async (request) => {
      const { userId } = await kit.identify(request);
      return profileOf(await accounts.setAvatar(userId, null));
    });

    scope.get<{ Params: { userId: string } }>('/v1/users/:userId/avatar', async (request, reply) => {
      await kit.identify(request);
      const avatar = await accounts.avatar(request.params.userId);
      if (!avatar) throw new NatterError('not_found');
      const etag = `"${avatar.tag}"`;
      reply
        .header('etag', etag)
        .header('cache-control', 'private, no-cache')
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "default-src 'none'");
      if (request.headers['if-none-match']?.split(',').some((t) => t.trim() === etag))
        return reply.status(304).send();
      return reply.type(avatar.contentType).send(Buffer.from(avatar.bytes));
    });
  });
}
