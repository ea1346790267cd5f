import { existsSync } from 'node:fs';
import { join } from 'node:path';
import negotiate from '@fastify/accept-negotiator';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ENCODINGS, type Encoding, etagOf, loadWebAssets } from './web-assets.js';

/**
 * The app talks only to its own origin (and, when attachments go straight to an S3 bucket, that
 * bucket's origin, for uploads and images); nothing inline, nothing from elsewhere. Images may also
 * be blob: URLs: avatars are fetched with the bearer token (an <img src> cannot send it) and shown
 * as object URLs.
 */
function contentSecurityPolicy(mediaOrigin: string | undefined): string {
  const media = mediaOrigin ? ` ${mediaOrigin}` : '';
  return `default-src 'self'; connect-src 'self'${media}; img-src 'self' data: blob:${media}; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`;
}

export interface WebAppOptions {
  /** The folder packages/web/build.mjs wrote. */
  dir: string;
  /** Serve the `.map` files (NATTER_WEB_SOURCE_MAPS): off by default, they publish the sources. */
  sourceMaps: boolean;
  /** The S3 bucket's origin, when clients upload and download attachments there directly. */
  mediaOrigin?: string;
}

/**
 * Serves the built web app at `/` from memory: each file in the smallest encoding the browser
 * accepts (brotli, gzip, else as is; compressed at build time), hashed assets cached for a year,
 * everything else revalidated by ETag.
 */
export function registerWebRoutes(app: FastifyInstance, web: WebAppOptions, log: Logger): void {
  if (!existsSync(join(web.dir, 'index.html'))) {
    log.warn({ dir: web.dir }, 'web app not built: nothing served at / (npm run build builds it)');
    return;
  }
  const assets = loadWebAssets(web.dir, { sourceMaps: web.sourceMaps });
  assets.set('/', assets.get('/index.html')!);
  const policy = contentSecurityPolicy(web.mediaOrigin);
  for (const [path, asset] of assets) {
    const encodings = ENCODINGS.filter((encoding) => asset.bodies[encoding]);
    app.get(path, async (request, reply) => {
      const accepted = request.headers['accept-encoding'];
      const encoding: Encoding = (accepted && negotiate(accepted, encodings)) || 'identity';
      const etag = etagOf(asset, encoding);
      reply
        .header('content-type', asset.type)
        .header('cache-control', asset.cacheControl)
        .header('etag', etag)
        .header('x-content-type-options', 'nosniff');
      if (encodings.length > 1) reply.header('vary', 'accept-encoding');
      if (encoding !== 'identity') reply.header('content-encoding', encoding);
      if (asset.sourceMap) reply.header('sourcemap', asset.sourceMap);
      if (asset.type.startsWith('text/html')) reply.header('content-security-policy', policy);
      if (matches(request.headers['if-none-match'], etag)) return reply.status(304).send();
      return reply.send(asset.bodies[encoding]);
    });
  }
}

/** If-None-Match may list several validators, or `*`. */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}
