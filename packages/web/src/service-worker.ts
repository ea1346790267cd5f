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

/** A push as the server sends it (docs/protocol.md, "Push notifications"): a wake-up, not the content. */
interface PushPayload {
  title: string;
  body: string;
  conversation_id: string;
  badge: number;
}

function pushPayloadOf(data: PushMessageData | null): PushPayload | null {
  try {
    const value = data?.json() as Partial<PushPayload> | undefined;
    if (typeof value?.conversation_id !== 'string') return null;
    return {
      title: typeof value.title === 'string' ? value.title : 'Natter',
      body: typeof value.body === 'string' ? value.body : '',
      conversation_id: value.conversation_id,
      badge: typeof value.badge === 'number' ? value.badge : 0,
    };
  } catch {
    return null; // not ours, or mangled: nothing to show
  }
}

// One notification per conversation (the tag): a newer push replaces the older one, as the server
// coalesces them. The app badge, where the platform has one, is the server's unread total.
worker.addEventListener('push', (event) => {
  const push = pushPayloadOf(event.data);
  if (!push) return;
  const badge = (navigator as Navigator & { setAppBadge?: (n: number) => Promise<void> }).setAppBadge;
  event.waitUntil(
    Promise.all([
      worker.registration.showNotification(push.title, {
        body: push.body,
        tag: push.conversation_id,
        icon: '/icon.svg',
        data: { conversationId: push.conversation_id },
      }),
      badge ? badge.call(navigator, push.badge).catch(() => {}) : Promise.resolve(),
    ]),
  );
});

// A click opens the conversation: in an open tab of the app if there is one, else in a new one.
worker.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const { conversationId } = (event.notification.data ?? {}) as { conversationId?: string };
  const url = conversationId ? `/#c=${encodeURIComponent(conversationId)}` : '/';
  event.waitUntil(
    worker.clients.matchAll({ type: 'window', includeUncontrolled: true }).then(async (windows) => {
      const open = windows[0];
      if (!open) return void (await worker.clients.openWindow(url));
      await open.focus();
      await open.navigate(url);
    }),
  );
});
