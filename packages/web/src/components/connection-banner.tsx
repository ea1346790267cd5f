import type { ClientState } from '@natter/client';

/** Says so when messages cannot go out right now; nothing while live. */
export function ConnectionBanner({ state }: { state: ClientState }) {
  if (state === 'live') return <div className="banner-slot" role="status" aria-live="polite" />;
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
