import { useSyncExternalStore } from 'react';
import type { ChatSession } from './chat-session.js';

/**
 * What `select` picks out of the session, re-rendering the calling component only when that is no
 * longer `===` to what it was. `select` must return something stable while its slice is unchanged:
 * a primitive, or what `ChatState` hands out (cached until its version moves).
 */
export function useSession<T>(session: ChatSession, select: (session: ChatSession) => T): T {
  return useSyncExternalStore(session.subscribe, () => select(session));
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
