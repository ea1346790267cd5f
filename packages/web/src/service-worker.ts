/// <reference lib="webworker" />
/**
 * Keeps the app shell so Natter opens (and shows the messages waiting in its outbox) without a
 * network. The page (`/`) is network first, so a deployed update shows on the next online load;
 * the files under /assets/ are named by their content, so a cached copy is always the right one and
 * is used without asking the network. API calls and the WebSocket are never cached.
 */

/** This build's shell: `/`, its hashed assets and the icons (written in by packages/web/build.mjs). */
declare const SHELL_FILES: readonly string[];

const worker = self as unknown as ServiceWorkerGlobalScope;
const CACHE = 'natter-shell-v2';
const SHELL = new Set(SHELL_FILES);
// Cache entries were stored without the browser's Accept-Encoding, so `Vary` must not hide them.
const MATCH = { ignoreVary: true };

worker.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll([...SHELL]))
      .then(() => worker.skipWaiting()),
  );
});

/** Drops the caches of earlier workers and the assets of earlier builds. */
worker.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
      const cache = await caches.open(CACHE);
      for (const request of await cache.keys()) {
        if (!SHELL.has(new URL(request.url).pathname)) await cache.delete(request);
      }
      await worker.clients.claim();
    })(),
  );
});

worker.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== worker.location.origin) return;
  // Only the app's own files: a tab opened on /metrics must not become the offline app.
  const path = url.pathname === '/index.html' ? '/' : url.pathname;
  if (!SHELL.has(path)) return;
  event.respondWith(
    path.startsWith('/assets/') ? cacheFirst(path, event.request) : networkFirst(path, event.request),
  );
});

async function cacheFirst(path: string, request: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(path, MATCH);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(path, response.clone());
  return response;
}

async function networkFirst(path: string, request: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(path, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(path, MATCH);
    if (cached) return cached;
    throw error;
  }
}
