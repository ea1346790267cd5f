import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingHttpHeaders, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** A built web app as packages/web/build.mjs lays it out: hashed assets with their twins, and a map. */
const SCRIPT = `console.log(${JSON.stringify('natter '.repeat(200))});`;
function writeBuiltApp(dir: string): void {
  mkdirSync(join(dir, 'assets'));
  const files: Record<string, string> = {
    'index.html': '<!doctype html><script type="module" src="/assets/app-ABCD1234.js"></script>',
    'sw.js': 'self.addEventListener("fetch", () => {});',
    'assets/app-ABCD1234.js': SCRIPT,
    'assets/app-ABCD1234.js.map': '{"version":3,"sources":["secret.ts"],"mappings":""}',
  };
  for (const [name, body] of Object.entries(files)) {
    writeFileSync(join(dir, name), body);
    if (name.endsWith('.map')) continue;
    writeFileSync(join(dir, `${name}.br`), brotliCompressSync(body));
    writeFileSync(join(dir, `${name}.gz`), gzipSync(body));
  }
}

interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as sent: still compressed when content-encoding says so. */
  body: Buffer;
}

/** A GET over real HTTP without fetch's transparent decompression. */
function get(url: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }),
      );
      response.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

describe('the web app: compression, caching and source maps', () => {
  const dir = mkdtempSync(join(tmpdir(), 'natter-web-'));
  let server: TestServer;
  let withMaps: TestServer;
  beforeAll(async () => {
    writeBuiltApp(dir);
    server = await startTestServer({ webDir: dir });
    withMaps = await startTestServer({ webDir: dir, webSourceMaps: true });
  });
  afterAll(async () => {
    await server?.dispose();
    await withMaps?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  const script = () => `${server.httpUrl}/assets/app-ABCD1234.js`;

  it('sends the precompressed body the browser prefers: brotli, else gzip, else as is', async () => {
    const brotli = await get(script(), { 'accept-encoding': 'gzip, deflate, br' });
    expect(brotli.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(brotli.body).toString()).toBe(SCRIPT);
    expect(brotli.body.length).toBeLessThan(SCRIPT.length / 4);

    const gzip = await get(script(), { 'accept-encoding': 'gzip, br;q=0' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.body).toString()).toBe(SCRIPT);

    for (const plain of [await get(script()), await get(script(), { 'accept-encoding': 'deflate' })]) {
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.body.toString()).toBe(SCRIPT);
    }
    for (const answer of [brotli, gzip]) {
      expect(answer.headers.vary).toBe('accept-encoding');
      expect(answer.headers['content-type']).toBe('text/javascript; charset=utf-8');
    }
    expect(new Set([brotli, gzip].map((answer) => answer.headers.etag)).size).toBe(2);
  });

  it('caches hashed assets for a year; the page and the service worker revalidate by ETag', async () => {
    expect((await get(script())).headers['cache-control']).toBe('public, max-age=31536000, immutable');
    for (const path of ['/', '/index.html', '/sw.js']) {
      const first = await get(`${server.httpUrl}${path}`, { 'accept-encoding': 'br' });
      expect(first.headers['cache-control']).toBe('no-cache');
      const again = await get(`${server.httpUrl}${path}`, {
        'accept-encoding': 'br',
        'if-none-match': first.headers.etag!,
      });
      expect(again.status).toBe(304);
      expect(again.body.length).toBe(0);
    }
    const page = await get(`${server.httpUrl}/`);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
  });

  it('answers 404 for source maps unless NATTER_WEB_SOURCE_MAPS is on', async () => {
    expect((await get(`${script()}.map`)).status).toBe(404);
    expect((await get(script())).headers.sourcemap).toBeUndefined();

    const mapped = await get(`${withMaps.httpUrl}/assets/app-ABCD1234.js`);
    expect(mapped.headers.sourcemap).toBe('/assets/app-ABCD1234.js.map');
    const map = await get(`${withMaps.httpUrl}/assets/app-ABCD1234.js.map`);
    expect(map.status).toBe(200);
    expect(JSON.parse(map.body.toString()).sources).toEqual(['secret.ts']);
  });

  it('never serves the compressed twins by their own names', async () => {
    expect((await get(`${script()}.br`)).status).toBe(404);
    expect((await get(`${script()}.gz`)).status).toBe(404);
  });
});
