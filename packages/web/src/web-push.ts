import type { NatterHttp } from '@natter/client';

/**
 * Push notifications in this browser (protocol §11.6): `unavailable` when the browser or the server
 * has no Web Push, `blocked` when the user refused the permission, `off` when it could be turned
 * on, `on` when this browser's subscription is registered with the server.
 */
export type PushState = 'unavailable' | 'blocked' | 'off' | 'on';

function supported(): boolean {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

async function subscription(): Promise<PushSubscription | null> {
  const registration = await navigator.serviceWorker.ready;
  return registration.pushManager.getSubscription();
}

export async function pushState(http: NatterHttp): Promise<PushState> {
  if (!supported()) return 'unavailable';
  const config = await http.pushConfig();
  if (!config.vapid_public_key) return 'unavailable';
  if (Notification.permission === 'denied') return 'blocked';
  if (Notification.permission !== 'granted') return 'off';
  return (await subscription()) ? 'on' : 'off';
}

/**
 * Asks for the permission (only ever from a click: browsers ignore or penalize a prompt on load),
 * subscribes with the server's VAPID key and registers the subscription. The server sends a
 * content-free "New message from ‹name›" while no tab of yours is connected.
 */
export async function turnOnPush(http: NatterHttp): Promise<PushState> {
  if (!supported()) return 'unavailable';
  const config = await http.pushConfig();
  if (!config.vapid_public_key) return 'unavailable';
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') return permission === 'denied' ? 'blocked' : 'off';
  const registration = await navigator.serviceWorker.ready;
  const existing = await registration.pushManager.getSubscription();
  const current =
    existing ??
    (await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: base64UrlBytes(config.vapid_public_key),
    }));
  const json = current.toJSON();
  const keys = json.keys ?? {};
  if (!json.endpoint || !keys.p256dh || !keys.auth)
    throw new Error('The browser gave an incomplete subscription.');
  await http.registerPushDevice({
    provider: 'webpush',
    endpoint: json.endpoint,
    keys: { p256dh: keys.p256dh, auth: keys.auth },
  });
  return 'on';
}

/** Forgets this browser on the server, then unsubscribes it. */
export async function turnOffPush(http: NatterHttp): Promise<PushState> {
  const current = supported() ? await subscription() : null;
  if (current) {
    await http.unregisterPushDevice(current.endpoint);
    await current.unsubscribe();
  }
  return 'off';
}

function base64UrlBytes(text: string): Uint8Array<ArrayBuffer> {
  const base64 = text
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .padEnd(Math.ceil(text.length / 4) * 4, '=');
  return Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
}
