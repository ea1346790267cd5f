import { useSyncExternalStore } from 'react';
import type { ChatSession } from './chat-session.js';

/** Re-renders the calling component whenever anything in the session changes. */
export function useSessionVersion(session: ChatSession): number {
  return useSyncExternalStore(session.subscribe, () => session.version);
}

/** Re-renders every `intervalMs` (30 s), for clocks like "last seen 3 min ago". */
export function useNow(intervalMs = 30_000): number {
  return useSyncExternalStore(
    (listener) => {
      const timer = setInterval(listener, intervalMs);
      return () => clearInterval(timer);
    },
    () => Math.floor(Date.now() / intervalMs) * intervalMs,
  );
}
