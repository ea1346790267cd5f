import type { ConversationSummary } from '@natter/protocol/core';
import { type FormEvent, useState } from 'react';
import type { ChatSession } from '../chat-session.js';
import { countOf } from '../format.js';
import { Avatar } from './avatar.js';
import { BotBadge } from './bot-badge.js';
import type { Confirm } from './confirm-dialog.js';
import { useEscape } from './use-escape.js';

interface Props {
  session: ChatSession;
  summary: ConversationSummary;
  /** Removing someone and leaving are asked first. */
  confirm: Confirm;
  onClose: () => void;
}

/**
 * A group's members: owners and admins add and remove, owners promote; anyone can leave. A
 * channel lists its admins and you (it may have a million members), and its admins set who posts.
 */
export function MembersPanel({ session, summary, confirm, onClose }: Props) {
  const id = summary.conversation_id;
  const [username, setUsername] = useState('');
  const [error, setError] = useState<string | null>(null);
  const me = session.account.userId;
  const manager = summary.role === 'owner' || summary.role === 'admin';
  const room = summary.kind === 'channel' ? 'channel' : 'group';
  // Kept current by the membership events themselves (added, removed, left, role changed).
  const members = session.state.membersOf(id) ?? [];
  useEscape(onClose);

  async function act(action: () => Promise<unknown>) {
    setError(null);
    try {
      await action();
    } catch (thrown) {
      setError(thrown instanceof Error ? thrown.message : 'That did not work.');
    }
  }

  async function add(event: FormEvent) {
    event.preventDefault();
    await act(async () => {
      const profile = await session.profiles.byUsername(username.trim());
      if (!profile) throw new Error('No user with that username.');
      await session.http.addMember(id, profile.user_id);
      setUsername('');
    });
  }

  return (
    <section className="members-panel" aria-label="Members">
      <header>
        <h3>Members</h3>
        <button type="button" className="icon-button" onClick={onClose} aria-label="Close members">
          <svg viewBox="0 0 24 24" aria-hidden="true">
            <path d="M6 6l12 12M18 6L6 18" />
          </svg>
        </button>
      </header>
      <ul>
        {members.map((member) => {
          const name = session.profiles.nameOf(member.userId);
          return (
            <li key={member.userId}>
              <Avatar name={name} src={session.avatarUrlOf(member.userId)} />
              <div className="member-text">
                <span className="member-name">
                  <span className="member-label">{member.userId === me ? `${name} (you)` : name}</span>
                  {session.profiles.isBot(member.userId) && <BotBadge />}
                  {member.role !== 'member' && <span className="role">{member.role}</span>}
                </span>
                <span className="member-actions">
                  {member.userId !== me && summary.role === 'owner' && member.role !== 'owner' && (
                    <button
                      type="button"
                      className="link"
                      aria-label={member.role === 'admin' ? `Make ${name} a member` : `Make ${name} an admin`}
                      onClick={() =>
                        act(() =>
                          session.http.setRole(
                            id,
                            member.userId,
                            member.role === 'admin' ? 'member' : 'admin',
                          ),
                        )
                      }
                    >
                      {member.role === 'admin' ? 'Make member' : 'Make admin'}
                    </button>
                  )}
                  {member.userId !== me && manager && member.role !== 'owner' && (
                    <button
                      type="button"
                      className="link danger"
                      aria-label={`Remove ${name}`}
                      onClick={async () => {
                        const sure = await confirm({
                          title: `Remove ${name} from the ${room}?`,
                          body: `${name} will no longer see new messages in “${session.titleOf(summary)}”.`,
                          confirmLabel: 'Remove',
                          danger: true,
                        });
                        if (sure) await act(() => session.http.removeMember(id, member.userId));
                      }}
                    >
                      Remove
                    </button>
                  )}
                </span>
              </div>
            </li>
          );
        })}
      </ul>
      {summary.kind === 'channel' && (
        <p className="members-note">
          {countOf(summary.member_count, 'member', 'members')} in all; listed here are its admins and you.
        </p>
      )}
      {manager && summary.kind === 'channel' && (
        <label className="setting-toggle">
          <input
            type="checkbox"
            checked={summary.posting === 'admins'}
            onChange={(e) => act(() => session.http.setPosting(id, e.target.checked ? 'admins' : 'everyone'))}
          />
          Only admins can post
        </label>
      )}
      {manager && (
        <label className="setting-toggle">
          <input
            type="checkbox"
            checked={summary.group_mentions === 'admins'}
            onChange={(e) =>
              act(() => session.http.setGroupMentions(id, e.target.checked ? 'admins' : 'anyone'))
            }
          />
          Only admins can mention @all and @here
        </label>
      )}
      {manager && (
        <form className="add-member" onSubmit={add}>
          <input
            aria-label="Username to add"
            placeholder="Add by username"
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
          <button type="submit" className="primary" disabled={!username.trim()}>
            Add
          </button>
        </form>
      )}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <button
        type="button"
        className="ghost danger"
        onClick={async () => {
          const sure = await confirm({
            title: `Leave “${session.titleOf(summary)}”?`,
            body: `You will no longer get its messages. Someone in the ${room} would have to add you back.`,
            confirmLabel: `Leave ${room}`,
            danger: true,
          });
          if (sure) await act(() => session.http.removeMember(id, me));
        }}
      >
        Leave {room}
      </button>
    </section>
  );
}
