import { Icon } from './icons.js';

/** Marks a channel (a very large conversation: posts reach members as they read), next to its name. */
export function ChannelBadge() {
  return (
    <span className="channel-badge" role="img" aria-label="Channel" title="Channel">
      <Icon name="megaphone" className="channel-icon" />
    </span>
  );
}
