import { useEffect, useState } from 'react';
import { ChatSession } from '../chat-session.js';
import { clearSession, loadSession, type StoredSession, saveSession } from '../stored-session.js';
import { AuthScreen } from './auth-screen.js';
import { ChatScreen } from './chat-screen.js';

/** Signed out: the auth screen. Signed in: one ChatSession for as long as the account stays. */
export function App() {
  const [account, setAccount] = useState<StoredSession | null>(loadSession);
  const [session, setSession] = useState<ChatSession | null>(null);

  useEffect(() => {
    if (!account) return;
    const opened = new ChatSession(account, () => {
      clearSession();
      setAccount(null);
    });
    setSession(opened);
    void opened.start();
    return () => opened.close();
  }, [account]);

  // Signing in or out in another tab applies here too.
  useEffect(() => {
    const onStorage = (event: StorageEvent) => {
      if (event.key === 'natter.session') setAccount(loadSession());
    };
    addEventListener('storage', onStorage);
    return () => removeEventListener('storage', onStorage);
  }, []);

  if (!account || !session || session.account !== account) {
    return account ? null : (
      <AuthScreen
        onSignedIn={(signedIn) => {
          saveSession(signedIn);
          setAccount(signedIn);
        }}
      />
    );
  }
  return (
    <ChatScreen
      session={session}
      onSignOut={async () => {
        await session.signOut();
        clearSession();
        setAccount(null);
      }}
    />
  );
}
