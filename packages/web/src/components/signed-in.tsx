import { useEffect, useState } from 'react';
import { ChatSession } from '../chat-session.js';
import type { StoredSession } from '../stored-session.js';
import { ChatScreen } from './chat-screen.js';

interface Props {
  account: StoredSession;
  /** The account is gone: signed out here or elsewhere, or its token refused. */
  onSignedOut: () => void;
}

/**
 * The signed-in app: one ChatSession for as long as the account stays. A module of its own so the
 * bundler splits it (with the SDK's client and every chat screen) from the login screen's script.
 */
export function SignedIn({ account, onSignedOut }: Props) {
  const [session, setSession] = useState<ChatSession | null>(null);

  useEffect(() => {
    const opened = new ChatSession(account, onSignedOut);
    setSession(opened);
    void opened.start();
    return () => opened.close();
  }, [account, onSignedOut]);

  if (!session || session.account !== account) return null;
  return (
    <ChatScreen
      session={session}
      onSignOut={async () => {
        await session.signOut();
        onSignedOut();
      }}
    />
  );
}
