import { NOTIFICATION_LEVELS, type NotificationLevel, type UserProfile } from '@natter/protocol/core';
import { type ChangeEvent, type FormEvent, useEffect, useRef, useState } from 'react';
import type { ChatSession } from '../chat-session.js';
import { avatarFromFile } from '../image-resize.js';
import { setThemeChoice, THEME_CHOICES, type ThemeChoice, themeChoice } from '../theme.js';
import { Avatar } from './avatar.js';
import { NOTIFICATION_LABELS } from './conversation-menu.js';
import { Icon } from './icons.js';
import { PushSetting } from './push-setting.js';

interface Props {
  session: ChatSession;
  onClose: () => void;
  onSignOut: () => void;
}

const THEME_LABELS: Record<ThemeChoice, string> = { system: 'System', light: 'Light', dark: 'Dark' };

/**
 * You and this app: your display name and avatar (seen by others at their next lookup of you), the
 * colour theme (this browser), what each conversation notifies you of, and logging out.
 */
export function SettingsDialog({ session, onClose, onSignOut }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  const me = session.account.userId;
  const username = session.account.username;
  const [name, setName] = useState(() => session.profiles.displayNameOf(me) ?? '');
  const [saved, setSaved] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [theme, setTheme] = useState<ThemeChoice>(themeChoice);
  const file = useRef<HTMLInputElement>(null);
  const conversations = session.state.conversations();
  const shownName = session.profiles.nameOf(me);
  const avatar = session.avatarUrlOf(me);

  const nameField = useRef<HTMLInputElement>(null);

  // showModal focuses the first focusable (the close button): the first field is what you came for.
  useEffect(() => {
    dialog.current?.showModal();
    nameField.current?.focus();
  }, []);

  async function run(work: () => Promise<UserProfile>, done: string) {
    setBusy(true);
    setError(null);
    setSaved(null);
    try {
      session.profiles.update(await work());
      setSaved(done);
    } catch (thrown) {
      setError(
        thrown instanceof Error && !('code' in thrown) ? thrown.message : 'That did not work. Try again.',
      );
    } finally {
      setBusy(false);
    }
  }

  function saveName(event: FormEvent) {
    event.preventDefault();
    void run(() => session.http.setDisplayName(name.trim() || null), 'Name saved.');
  }

  function pickAvatar(event: ChangeEvent<HTMLInputElement>) {
    const picked = event.currentTarget.files?.[0];
    event.currentTarget.value = '';
    if (picked) void run(async () => session.http.setAvatar(await avatarFromFile(picked)), 'Photo updated.');
  }

  function chooseTheme(choice: ThemeChoice) {
    setTheme(choice);
    setThemeChoice(choice);
  }

  function setLevel(conversationId: string, level: NotificationLevel) {
    session.client.setNotifications(conversationId, level).catch(() => setError('Could not change that.'));
  }

  return (
    <dialog ref={dialog} className="dialog settings" aria-labelledby="settings-title" onClose={onClose}>
      <div className="settings-header">
        <h2 id="settings-title">Settings</h2>
        <button
          type="button"
          className="icon-button"
          aria-label="Close settings"
          onClick={() => dialog.current?.close()}
        >
          <Icon name="close" />
        </button>
      </div>

      <section className="settings-section" aria-labelledby="profile-title">
        <h3 id="profile-title">Profile</h3>
        <div className="profile-card">
          <Avatar name={shownName} src={avatar} size="large" />
          <div className="profile-who">
            <strong>{shownName}</strong>
            <span>@{username}</span>
          </div>
        </div>
        <form className="profile-name" onSubmit={saveName}>
          <label>
            Display name
            <input
              ref={nameField}
              maxLength={64}
              placeholder={username}
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
            />
          </label>
          <button type="submit" className="primary" disabled={busy}>
            Save
          </button>
        </form>
        <div className="profile-photo">
          <input
            ref={file}
            type="file"
            accept="image/*"
            hidden
            onChange={pickAvatar}
            aria-label="Photo file"
          />
          <button type="button" className="ghost" disabled={busy} onClick={() => file.current?.click()}>
            {avatar ? 'Change photo' : 'Add a photo'}
          </button>
          {session.profiles.avatarOf(me) && (
            <button
              type="button"
              className="ghost"
              disabled={busy}
              onClick={() => void run(() => session.http.removeAvatar(), 'Photo removed.')}
            >
              Remove photo
            </button>
          )}
        </div>
        <p className="settings-note">People see your new name and photo the next time their app loads.</p>
        {(error || saved) && (
          <p className={error ? 'form-error' : 'settings-saved'} role="status">
            {error ?? saved}
          </p>
        )}
      </section>

      <section className="settings-section" aria-labelledby="theme-title">
        <h3 id="theme-title">Theme</h3>
        <div className="segmented three" role="radiogroup" aria-labelledby="theme-title">
          {THEME_CHOICES.map((choice) => (
            // biome-ignore lint/a11y/useSemanticElements: a segmented control, styled as one row of buttons
            <button
              key={choice}
              type="button"
              role="radio"
              aria-checked={theme === choice}
              onClick={() => chooseTheme(choice)}
            >
              {THEME_LABELS[choice]}
            </button>
          ))}
        </div>
        <p className="settings-note">
          System follows your device’s light or dark setting. Kept in this browser.
        </p>
      </section>

      <section className="settings-section" aria-labelledby="notifications-title">
        <h3 id="notifications-title">Notifications</h3>
        <PushSetting http={session.http} />
        <p className="settings-note">
          Conversations set to Mentions only or None show a quiet grey badge in your list, with a muted bell.
          Kept on your account, for all your devices.
        </p>
        {conversations.length === 0 ? (
          <p className="settings-note">No conversations yet.</p>
        ) : (
          <ul className="notification-levels">
            {conversations.map((summary) => (
              <li key={summary.conversation_id}>
                <span className="notification-title">{session.titleOf(summary)}</span>
                <select
                  aria-label={`Notifications for ${session.titleOf(summary)}`}
                  value={summary.notifications}
                  onChange={(e) =>
                    setLevel(summary.conversation_id, e.currentTarget.value as NotificationLevel)
                  }
                >
                  {NOTIFICATION_LEVELS.map((level) => (
                    <option key={level} value={level}>
                      {NOTIFICATION_LABELS[level]}
                    </option>
                  ))}
                </select>
              </li>
            ))}
          </ul>
        )}
      </section>

      <div className="settings-footer">
        <button type="button" className="danger-button" onClick={onSignOut}>
          Log out
        </button>
      </div>
    </dialog>
  );
}
