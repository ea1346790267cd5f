/// <reference lib="webworker" />
/**
 * Keeps the app shell so Natter opens (and shows the messages waiting in its outbox) without a
 * network. Network first, so a deployed update shows on the next online load; the cache only
 * answers when the network cannot. API calls and the WebSocket are never cached.
 */
const worker = self as unknown as ServiceWorkerGlobalScope;
const CACHE = 'natter-shell-v1';
const SHELL = ['/', '/app.js', '/app.css', '/icon.svg', '/manifest.webmanifest'];

worker.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => worker.skipWaiting()),
  );
});

worker.addEventListener('activate', (event) => {
  event.waitUntil(worker.clients.claim());
});

worker.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== worker.location.origin) return;
  // Only the app's own files: a tab opened on /metrics must not become the offline app.
  const path = url.pathname === '/index.html' ? '/' : url.pathname;
  if (!SHELL.includes(path)) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      try {
        const response = await fetch(event.request);
        if (response.ok) await cache.put(path, response.clone());
        return response;
      } catch (error) {
        const cached = await cache.match(path);
        if (cached) return cached;
        throw error;
      }
    })(),
  );
});
