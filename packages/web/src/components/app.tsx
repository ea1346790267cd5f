import { lazy, Suspense, useCallback, useEffect, useState } from 'react';
import { clearSession, loadSession, type StoredSession, saveSession } from '../stored-session.js';
import { AuthScreen } from './auth-screen.js';

/**
 * The signed-in screens load as a chunk of their own: a first visit downloads only the login
 * screen's script. A returning user's tab asks for the chunk at once (module evaluation time).
 */
const loadSignedIn = () => import('./signed-in.js');
const SignedIn = lazy(() => loadSignedIn().then((module) => ({ default: module.SignedIn })));
if (loadSession()) void loadSignedIn().catch(() => {});

/** Signed out: the auth screen. Signed in: the chat screens, for as long as the account stays. */
export function App() {
  const [account, setAccount] = useState<StoredSession | null>(loadSession);

  const signedOut = useCallback(() => {
    clearSession();
    setAccount(null);
  }, []);

  // Signing in or out in another tab applies here too.
  useEffect(() => {
    const onStorage = (event: StorageEvent) => {
      if (event.key === 'natter.session') setAccount(loadSession());
    };
    addEventListener('storage', onStorage);
    return () => removeEventListener('storage', onStorage);
  }, []);

  // While someone reads the login form, fetch the chat screens so signing in does not wait for them.
  useEffect(() => {
    if (account) return;
    const idle = setTimeout(() => void loadSignedIn().catch(() => {}), 1_000);
    return () => clearTimeout(idle);
  }, [account]);

  if (!account) {
    return (
      <AuthScreen
        onSignedIn={(signedIn) => {
          saveSession(signedIn);
          setAccount(signedIn);
        }}
      />
    );
  }
  return (
    <Suspense fallback={null}>
      <SignedIn account={account} onSignedOut={signedOut} />
    </Suspense>
  );
}
