import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative } from 'node:path';

/** How a stored body is encoded, in the server's order of preference (the smallest first). */
export const ENCODINGS = ['br', 'gzip', 'identity'] as const;
export type Encoding = (typeof ENCODINGS)[number];

/** What packages/web/build.mjs writes next to a file: its precompressed twins. */
const TWIN_SUFFIX: Record<Exclude<Encoding, 'identity'>, string> = { br: '.br', gzip: '.gz' };

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.map': 'application/json',
};

/** Files under this folder are named by their content hash: a name never changes meaning. */
const HASHED_FOLDER = 'assets/';
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Fixed names (the page, the service worker, icons): cacheable, but revalidated on each use. */
const REVALIDATE = 'no-cache';

export interface WebAsset {
  type: string;
  cacheControl: string;
  /** The body in each encoding the build left for it; `identity` always. */
  bodies: Partial<Record<Encoding, Buffer>> & { identity: Buffer };
  /** A strong validator of the content; each encoding's ETag adds its name (see `etagOf`). */
  contentHash: string;
  /** The URL path of its source map, when source maps are served. */
  sourceMap?: string;
}

/**
 * The built web app, read once at start into memory: URL path -> asset. Source maps (`.map`) are
 * left out unless `sourceMaps`, so a production server does not publish the app's sources.
 */
export function loadWebAssets(dir: string, options: { sourceMaps: boolean }): Map<string, WebAsset> {
  const assets = new Map<string, WebAsset>();
  for (const file of filesUnder(dir)) {
    const name = relative(dir, file).split('\\').join('/');
    const type = CONTENT_TYPES[extname(name)];
    if (!type || (extname(name) === '.map' && !options.sourceMaps)) continue;
    const identity = readFileSync(file);
    const bodies: WebAsset['bodies'] = { identity };
    for (const [encoding, suffix] of Object.entries(TWIN_SUFFIX)) {
      if (existsSync(file + suffix)) bodies[encoding as Encoding] = readFileSync(file + suffix);
    }
    const sourceMap = options.sourceMaps && existsSync(`${file}.map`) ? `/${name}.map` : undefined;
    assets.set(`/${name}`, {
      type,
      cacheControl: name.startsWith(HASHED_FOLDER) ? IMMUTABLE : REVALIDATE,
      bodies,
      contentHash: createHash('sha256').update(identity).digest('base64url').slice(0, 22),
      ...(sourceMap ? { sourceMap } : {}),
    });
  }
  return assets;
}

/** Each encoding is its own representation, so it has its own strong ETag. */
export function etagOf(asset: WebAsset, encoding: Encoding): string {
  return encoding === 'identity' ? `"${asset.contentHash}"` : `"${asset.contentHash}-${encoding}"`;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}
