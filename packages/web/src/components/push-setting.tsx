import type { NatterHttp } from '@natter/client';
import { useEffect, useState } from 'react';
import { type PushState, pushState, turnOffPush, turnOnPush } from '../web-push.js';

const EXPLAINED: Record<PushState, string> = {
  unavailable: 'This browser or this server does not offer notifications while Natter is closed.',
  blocked: 'Notifications are blocked for this site. Allow them in your browser’s site settings.',
  off: 'Get a notification when a message arrives while Natter is closed. It names the sender, never the text.',
  on: 'On in this browser: a notification names the sender when a message arrives while Natter is closed.',
};

/** Settings' switch for push notifications in this browser: asked for only when the user presses it. */
export function PushSetting({ http }: { http: NatterHttp }) {
  const [state, setState] = useState<PushState | null>(null);
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    let current = true;
    pushState(http).then(
      (found) => current && setState(found),
      () => current && setState('unavailable'),
    );
    return () => {
      current = false;
    };
  }, [http]);

  async function toggle(turn: typeof turnOnPush) {
    setBusy(true);
    setFailed(false);
    try {
      setState(await turn(http));
    } catch {
      setFailed(true);
    } finally {
      setBusy(false);
    }
  }

  if (state === null) return null;
  return (
    <div className="push-setting">
      <p className="settings-note" data-push-state={state}>
        {EXPLAINED[state]}
      </p>
      {failed && (
        <p className="form-error" role="alert">
          That did not work. Try again.
        </p>
      )}
      {state === 'off' && (
        <button type="button" className="primary" disabled={busy} onClick={() => void toggle(turnOnPush)}>
          Turn on notifications
        </button>
      )}
      {state === 'on' && (
        <button type="button" className="ghost" disabled={busy} onClick={() => void toggle(turnOffPush)}>
          Turn off notifications
        </button>
      )}
    </div>
  );
}
