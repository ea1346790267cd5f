import type { IncomingMessage } from 'node:http';

/**
 * Browsers always send Origin on a WebSocket upgrade; other clients usually do not. Allowed: no
 * Origin (not a browser, so no ambient cookies to abuse), the page's own origin (Origin host equals
 * Host: the web app Natter serves), and every origin in the allowlist ('*' allows any).
 */
export function isOriginAllowed(request: IncomingMessage, allowlist: readonly string[]): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (allowlist.includes('*') || allowlist.includes(origin)) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}
