import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';

/**
 * Serves a blank page with the client SDK bundled for browsers (global `Natter`), on its own
 * 127.0.0.1 origin, so browser tests exercise the SDK exactly as an app would ship it.
 */
export async function serveSdkPage(): Promise<{ url: string; close(): Promise<void> }> {
  const bundle = await build({
    entryPoints: [new URL('../packages/client/src/index.ts', import.meta.url).pathname],
    bundle: true,
    format: 'iife',
    globalName: 'Natter',
    platform: 'browser',
    target: 'es2022',
    write: false,
  });
  const script = bundle.outputFiles[0]!.text;
  const page =
    '<!doctype html><html><head><meta charset="utf-8"><script src="/natter.js"></script></head><body></body></html>';
  const server: Server = createServer((request, response) => {
    const js = request.url === '/natter.js';
    response.writeHead(200, { 'content-type': js ? 'text/javascript' : 'text/html' });
    response.end(js ? script : page);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
