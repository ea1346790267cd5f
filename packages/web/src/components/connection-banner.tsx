import type { ClientState, Transport } from '@natter/client';

/**
 * Says so when messages cannot go out right now. While live it says nothing, unless the network
 * blocks WebSockets and the app talks over the HTTP fallback: a quiet note, since all still works.
 */
export function ConnectionBanner({ state, transport }: { state: ClientState; transport?: Transport }) {
  if (state === 'live') {
    return (
      <div className="banner-slot" role="status" aria-live="polite">
        {transport !== undefined && transport !== 'websocket' && (
          <div className="banner fallback" data-transport={transport}>
            Connected over HTTP: this network blocks live connections.
          </div>
        )}
      </div>
    );
  }
  const offline = state === 'offline' || state === 'closed';
  return (
    <div className="banner-slot" role="status" aria-live="polite">
      <div className={`banner ${offline ? 'offline' : 'connecting'}`} data-connection={state}>
        {offline
          ? 'You are offline. Messages you write will be sent when you are back.'
          : state === 'syncing'
            ? 'Catching up…'
            : 'Connecting…'}
      </div>
    </div>
  );
}
