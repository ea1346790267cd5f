import type { MessageView } from '@natter/client';
import type { ConversationSummary } from '@natter/protocol/core';
import { type ReactNode, useState } from 'react';
import type { ChatSession } from '../chat-session.js';
import { canReact, type MessageHandlers, messageActions, toggleReaction } from '../message-actions.js';
import { QUICK_REACTIONS, REACTION_CHOICES, TOOLBAR_REACTIONS } from '../reaction-emoji.js';
import { Icon } from './icons.js';
import { Popover } from './popover.js';

interface MessageProps {
  session: ChatSession;
  summary: ConversationSummary;
  message: MessageView;
  handlers: MessageHandlers;
}

/** Which panel a message has open, and the button (or bubble) it opened from. */
export type OpenPanel = { kind: 'menu' | 'emoji' | 'info'; anchor: HTMLElement | null } | null;

/**
 * The bar that shows beside a message on hover or focus (desktop): a few quick reactions, "Add
 * reaction", "Reply", "Reply in thread" and "More actions", after the message's time when the
 * bubble does not show it (inside a run). On phones only "More actions" shows (the long-press does
 * the same), opening the action sheet.
 */
export function MessageToolbar({
  session,
  summary,
  message,
  handlers,
  onOpen,
  time,
}: MessageProps & {
  onOpen: (panel: OpenPanel) => void;
  time?: ReactNode;
}) {
  const reactable = canReact(summary, message);
  const actions = messageActions(session, summary, message, handlers);
  const answers = actions.filter((action) => action.id === 'reply' || action.id === 'thread');
  if (!reactable && actions.length === 0) return null;
  return (
    <div className="message-toolbar" role="toolbar" aria-label="Message actions">
      {time && <span className="toolbar-time desktop-only">{time}</span>}
      {reactable &&
        QUICK_REACTIONS.slice(0, TOOLBAR_REACTIONS).map((emoji) => (
          <button
            key={emoji}
            type="button"
            className="toolbar-button quick-emoji"
            aria-label={`React with ${emoji}`}
            title={`React with ${emoji}`}
            onClick={() => toggleReaction(session, message, emoji, handlers)}
          >
            {emoji}
          </button>
        ))}
      {reactable && (
        <button
          type="button"
          className="toolbar-button desktop-only"
          aria-label="Add reaction"
          title="Add reaction"
          onClick={(event) => onOpen({ kind: 'emoji', anchor: event.currentTarget })}
        >
          <Icon name="smilePlus" />
        </button>
      )}
      {answers.map((action) => (
        <button
          key={action.id}
          type="button"
          className="toolbar-button desktop-only"
          aria-label={action.label}
          title={action.label}
          onClick={() => void action.run()}
        >
          <Icon name={action.icon} />
        </button>
      ))}
      <button
        type="button"
        className="toolbar-button more"
        aria-label="More actions"
        title="More"
        onClick={(event) => onOpen({ kind: 'menu', anchor: event.currentTarget })}
      >
        <Icon name="more" />
      </button>
    </div>
  );
}

/**
 * Everything that can be done to a message: a row of reactions (more behind "+"), then reply,
 * reply in thread, copy, pin, edit, delete as allowed. A menu beside the message on desktop, a bottom sheet on phones.
 */
export function MessageMenu({
  session,
  summary,
  message,
  handlers,
  anchor,
  onClose,
}: MessageProps & {
  anchor: HTMLElement | null;
  onClose: () => void;
}) {
  const [allEmoji, setAllEmoji] = useState(false);
  const actions = messageActions(session, summary, message, handlers);
  const reacted = new Set(message.reactions.filter((r) => r.me).map((r) => r.emoji));
  const react = (emoji: string) => {
    onClose();
    toggleReaction(session, message, emoji, handlers);
  };
  return (
    <Popover anchor={anchor} label="Message actions" onClose={onClose} className="message-menu">
      {canReact(summary, message) &&
        (allEmoji ? (
          <EmojiGrid chosen={reacted} onPick={react} />
        ) : (
          <div className="menu-reactions">
            {QUICK_REACTIONS.map((emoji) => (
              <button
                key={emoji}
                type="button"
                className={`menu-emoji${reacted.has(emoji) ? ' chosen' : ''}`}
                aria-label={`React with ${emoji}`}
                aria-pressed={reacted.has(emoji)}
                onClick={() => react(emoji)}
              >
                {emoji}
              </button>
            ))}
            <button
              type="button"
              className="menu-emoji more-emoji"
              aria-label="More reactions"
              onClick={() => setAllEmoji(true)}
            >
              <Icon name="smilePlus" />
            </button>
          </div>
        ))}
      {actions.length > 0 && (
        <ul className="menu-actions">
          {actions.map((action) => (
            <li key={action.id}>
              <button
                type="button"
                className={`menu-action${action.danger ? ' danger' : ''}`}
                onClick={() => {
                  onClose();
                  void action.run();
                }}
              >
                <Icon name={action.icon} />
                {action.label}
              </button>
            </li>
          ))}
        </ul>
      )}
    </Popover>
  );
}

/** "Add reaction": every emoji on offer, the ones you already reacted with marked. */
export function EmojiPicker({
  anchor,
  chosen,
  onPick,
  onClose,
}: {
  anchor: HTMLElement | null;
  chosen: ReadonlySet<string>;
  onPick: (emoji: string) => void;
  onClose: () => void;
}) {
  return (
    <Popover anchor={anchor} label="Add reaction" onClose={onClose} className="emoji-popover">
      <EmojiGrid
        chosen={chosen}
        onPick={(emoji) => {
          onClose();
          onPick(emoji);
        }}
      />
    </Popover>
  );
}

function EmojiGrid({ chosen, onPick }: { chosen: ReadonlySet<string>; onPick: (emoji: string) => void }) {
  return (
    <div className="emoji-grid">
      {REACTION_CHOICES.map((emoji) => (
        <button
          key={emoji}
          type="button"
          className={`menu-emoji${chosen.has(emoji) ? ' chosen' : ''}`}
          aria-label={`React with ${emoji}`}
          aria-pressed={chosen.has(emoji)}
          onClick={() => onPick(emoji)}
        >
          {emoji}
        </button>
      ))}
    </div>
  );
}
