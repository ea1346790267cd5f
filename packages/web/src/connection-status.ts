import type { ClientState } from '@natter/client';

/**
 * What a chat header says while messages cannot flow both ways, as phones' chat apps do:
 * "Waiting for network…" while offline, "Connecting…" while the socket is opening and
 * authenticating, "Updating…" while catching up after it; null while live.
 */
export function connectionStatus(state: ClientState): string | null {
  switch (state) {
    case 'live':
      return null;
    case 'offline':
    case 'closed':
      return 'Waiting for network…';
    case 'connecting':
    case 'open':
      return 'Connecting…';
    case 'syncing':
      return 'Updating…';
  }
}
