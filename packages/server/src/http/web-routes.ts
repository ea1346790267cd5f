import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.map': 'application/json',
};

/** The app talks only to its own origin; nothing inline, nothing from elsewhere. */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
}

/**
 * Serves the built web app (a handful of files, read once at start) at `/`. Files are revalidated
 * on every load (ETag) rather than cached for long, because their names carry no content hash; the
 * app's service worker keeps a copy for offline starts.
 */
export function registerWebRoutes(app: FastifyInstance, dir: string, log: Logger): void {
  if (!existsSync(join(dir, 'index.html'))) {
    log.warn({ dir }, 'web app not built: nothing served at / (npm run build builds it)');
    return;
  }
  const files = new Map<string, StaticFile>();
  for (const name of readdirSync(dir)) {
    const type = CONTENT_TYPES[extname(name)];
    if (!type) continue;
    const body = readFileSync(join(dir, name));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    files.set(`/${name}`, { body, type, etag });
  }
  files.set('/', files.get('/index.html')!);
  for (const [path, file] of files) {
    app.get(path, async (request, reply) => {
      reply
        .header('content-type', file.type)
        .header('etag', file.etag)
        .header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff');
      if (file.type.startsWith('text/html')) reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
      if (request.headers['if-none-match'] === file.etag) return reply.status(304).send();
      return reply.send(file.body);
    });
  }
}
