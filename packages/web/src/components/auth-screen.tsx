import { NatterHttp } from '@natter/client';
import { NatterError } from '@natter/protocol/core';
import { type FormEvent, useState } from 'react';
import type { StoredSession } from '../stored-session.js';

const MESSAGES: Partial<Record<string, string>> = {
  invalid_credentials: 'Wrong username or password.',
  username_taken: 'That username is taken.',
  rate_limited: 'Too many attempts. Wait a moment and try again.',
  bad_request:
    'Usernames are 3–32 letters, digits, _ . or -; passwords at least 8 characters; names up to 64 characters.',
};

const UNREACHABLE = 'Natter cannot be reached. Check your connection.';

/** Sign in, or create an account and sign in with it. */
export function AuthScreen({ onSignedIn }: { onSignedIn: (session: StoredSession) => void }) {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const http = new NatterHttp(location.origin);
    try {
      if (mode === 'register') await http.register(username, password, displayName.trim() || undefined);
      const session = await http.login(username, password);
      onSignedIn({ token: session.token, userId: session.user_id, username });
    } catch (thrown) {
      setError(errorText(thrown));
    } finally {
      setBusy(false);
    }
  }

  const registering = mode === 'register';
  return (
    <main className="auth">
      <form className="auth-card" onSubmit={submit} aria-labelledby="auth-title">
        <div className="brand">
          <img src="/icon.svg" alt="" width={40} height={40} />
          <span>Natter</span>
        </div>
        <h1 id="auth-title">{registering ? 'Create your account' : 'Welcome back'}</h1>
        {registering && (
          <label>
            Your name
            <input
              name="name"
              autoComplete="name"
              maxLength={64}
              placeholder="How people will see you"
              value={displayName}
              onChange={(e) => setDisplayName(e.target.value)}
            />
          </label>
        )}
        <label>
          Username
          <input
            name="username"
            autoComplete="username"
            required
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={registering ? 'new-password' : 'current-password'}
            required
            minLength={registering ? 8 : 1}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {registering ? 'Sign up' : 'Log in'}
        </button>
        {!registering && (
          <p className="auth-forgot">Forgot your password? Ask your Natter administrator to reset it.</p>
        )}
        <p className="auth-switch">
          {registering ? 'Already have an account?' : 'New to Natter?'}{' '}
          <button
            type="button"
            className="link"
            onClick={() => {
              setMode(registering ? 'login' : 'register');
              setError(null);
            }}
          >
            {registering ? 'Log in' : 'Create an account'}
          </button>
        </p>
      </form>
    </main>
  );
}

/** What to tell the person; a rate limit says how long to wait (the server's retry_after_ms, rounded up). */
function errorText(thrown: unknown): string {
  if (!(thrown instanceof NatterError)) return UNREACHABLE;
  if (thrown.code === 'rate_limited' && thrown.retryAfterMs !== undefined) {
    return `Too many attempts, try again in ${Math.ceil(thrown.retryAfterMs / 1000)} s.`;
  }
  return MESSAGES[thrown.code] ?? UNREACHABLE;
}
