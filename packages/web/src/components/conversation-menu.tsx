import { NOTIFICATION_LEVELS, type NotificationLevel } from '@natter/protocol/core';
import { Icon } from './icons.js';
import { Popover } from './popover.js';

export const NOTIFICATION_LABELS: Record<NotificationLevel, string> = {
  all: 'All',
  mentions: 'Mentions only',
  none: 'None',
};

const NOTIFICATION_HINTS: Record<NotificationLevel, string> = {
  all: 'Every new message',
  mentions: 'Only when you are mentioned',
  none: 'Nothing, not even mentions',
};

interface Props {
  anchor: HTMLElement | null;
  level: NotificationLevel;
  onLevel: (level: NotificationLevel) => void;
  /** Groups: opens the members panel (phones have no room for its header button). */
  onMembers: (() => void) | undefined;
  onClose: () => void;
}

/** The conversation header's menu: the notification level, the current one checked; on phones, a group's members. */
export function ConversationMenu({ anchor, level, onLevel, onMembers, onClose }: Props) {
  return (
    <Popover anchor={anchor} label="Conversation settings" onClose={onClose} className="conversation-menu">
      {onMembers && (
        <button
          type="button"
          className="menu-action phone-only"
          onClick={() => {
            onClose();
            onMembers();
          }}
        >
          <Icon name="people" />
          Members
        </button>
      )}
      <h3 className="popover-title" id="notifications-title">
        Notifications
      </h3>
      <div role="radiogroup" aria-labelledby="notifications-title" className="level-list">
        {NOTIFICATION_LEVELS.map((choice) => (
          <label key={choice} className={`level-choice${choice === level ? ' chosen' : ''}`}>
            <input
              type="radio"
              name="notifications"
              aria-label={NOTIFICATION_LABELS[choice]}
              checked={choice === level}
              onChange={() => {
                onClose();
                onLevel(choice);
              }}
            />
            <span className="level-text" aria-hidden="true">
              <span className="level-label">{NOTIFICATION_LABELS[choice]}</span>
              <span className="level-hint">{NOTIFICATION_HINTS[choice]}</span>
            </span>
          </label>
        ))}
      </div>
    </Popover>
  );
}
