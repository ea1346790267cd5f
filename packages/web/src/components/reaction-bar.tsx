import type { ReactionCount } from '@natter/protocol/core';

/** "👍 2, you reacted": what a chip says to a screen reader and in its tooltip. */
export function reactionLabel(reaction: ReactionCount): string {
  return `${reaction.emoji} ${reaction.count}${reaction.me ? ', you reacted' : ''}`;
}

/** The reactions under a message: one chip per emoji with its count, yours highlighted; a click toggles yours. */
export function ReactionBar({
  reactions,
  onToggle,
}: {
  reactions: ReactionCount[];
  /** Absent when you cannot react (no longer a member, or the message is not stored yet). */
  onToggle: ((emoji: string) => void) | undefined;
}) {
  return (
    <div className="reaction-bar">
      {reactions.map((reaction) => {
        const label = reactionLabel(reaction);
        return (
          <button
            key={reaction.emoji}
            type="button"
            className={`reaction-chip${reaction.me ? ' me' : ''}`}
            aria-label={label}
            aria-pressed={reaction.me}
            title={onToggle ? `${label}. Click to ${reaction.me ? 'take yours back' : 'react too'}.` : label}
            disabled={!onToggle}
            onClick={() => onToggle?.(reaction.emoji)}
          >
            <span className="reaction-emoji" aria-hidden="true">
              {reaction.emoji}
            </span>
            <span className="reaction-count" aria-hidden="true">
              {reaction.count}
            </span>
          </button>
        );
      })}
    </div>
  );
}
