import type { MessageView } from '@natter/client';
import type { ConversationSummary } from '@natter/protocol/core';
import type { ChatSession } from './chat-session.js';
import type { Confirm } from './components/confirm-dialog.js';
import type { IconName } from './components/icons.js';
import { restoreDraft } from './drafts.js';

/** What the conversation screen does for a message's actions that reach beyond the message. */
export interface MessageHandlers {
  reply(message: MessageView): void;
  edit(message: MessageView): void;
  /** Opens the thread under a message; absent where no thread can start (inside a thread). */
  openThread?(message: MessageView): void;
  /**
   * Takes a message the server refused out of the outbox and puts its text back in the composer;
   * absent where no composer can take it.
   */
  restoreText?(message: MessageView): void;
  /** A short line shown for a moment ("Copied", or why something failed). */
  notify(text: string): void;
  /** Asks before something that cannot be undone (the app's own dialog). */
  confirm: Confirm;
  /** Opens "Message info" (who has read it); absent where it has no place. */
  showInfo?(message: MessageView): void;
}

export interface MessageAction {
  id: 'reply' | 'thread' | 'copy' | 'pin' | 'info' | 'edit' | 'delete';
  label: string;
  icon: IconName;
  danger?: boolean;
  run(): void | Promise<void>;
}

const OFFLINE = 'Try again when you are online.';

/** Stored, not deleted, and you are still a member: it can be answered, reacted to, pinned. */
function actionable(
  summary: ConversationSummary,
  message: MessageView,
): message is MessageView & { seq: number } {
  return message.seq !== null && !message.deleted && summary.left_seq === null;
}

export function canReact(summary: ConversationSummary, message: MessageView): boolean {
  return actionable(summary, message);
}

/** Adds your reaction, or takes it back if you had already reacted with that emoji. */
export function toggleReaction(
  session: ChatSession,
  message: MessageView,
  emoji: string,
  handlers: MessageHandlers,
): void {
  if (message.seq === null) return;
  Promise.resolve(session.state.toggleReaction(message.conversationId, message.seq, emoji)).catch(() =>
    handlers.notify(`The reaction could not be sent. ${OFFLINE}`),
  );
}

/**
 * The actions offered on a message, in menu order: reply, reply in thread (not inside one), copy,
 * pin (admins and owners of a group, either person of a 1:1), and for your own messages "Message
 * info" (who has read it), edit and delete (which group admins and owners may also do to others'
 * messages, after a confirmation).
 */
export function messageActions(
  session: ChatSession,
  summary: ConversationSummary,
  message: MessageView,
  handlers: MessageHandlers,
): MessageAction[] {
  const actions: MessageAction[] = [];
  const mine = message.senderId === session.account.userId;
  const manager = summary.kind === 'direct' || summary.role !== 'member';
  const stored = actionable(summary, message);
  if (stored)
    actions.push({ id: 'reply', label: 'Reply', icon: 'reply', run: () => handlers.reply(message) });
  const openThread = handlers.openThread;
  if (stored && openThread && message.threadRoot === null)
    actions.push({ id: 'thread', label: 'Reply in thread', icon: 'thread', run: () => openThread(message) });
  if (!message.deleted && message.body) {
    const body = message.body;
    actions.push({ id: 'copy', label: 'Copy text', icon: 'copy', run: () => copyText(body, handlers) });
  }
  if (stored && manager) {
    const action = message.pinned ? 'unpin' : 'pin';
    actions.push({
      id: 'pin',
      label: message.pinned ? 'Unpin message' : 'Pin message',
      icon: message.pinned ? 'unpin' : 'pin',
      run: () =>
        void session.client
          .pin(message.conversationId, message.seq, action)
          .catch(() => handlers.notify(`The message could not be ${action}ned. ${OFFLINE}`)),
    });
  }
  const showInfo = handlers.showInfo;
  if (stored && mine && showInfo)
    actions.push({ id: 'info', label: 'Message info', icon: 'info', run: () => showInfo(message) });
  if (stored && mine)
    actions.push({ id: 'edit', label: 'Edit message', icon: 'edit', run: () => handlers.edit(message) });
  if (stored && (mine || (summary.kind !== 'direct' && summary.role !== 'member'))) {
    actions.push({
      id: 'delete',
      label: 'Delete message',
      icon: 'trash',
      danger: true,
      run: async () => {
        const confirmed = await handlers.confirm({
          title: 'Delete this message for everyone?',
          body: mine
            ? 'It will be replaced by “This message was deleted” for everyone in the conversation.'
            : 'You are deleting someone else’s message as a group admin. Everyone will see it was deleted.',
          confirmLabel: 'Delete',
          danger: true,
        });
        if (!confirmed) return;
        await session.client
          .deleteMessage(message.conversationId, message.seq)
          .catch(() => handlers.notify(`The message could not be deleted. ${OFFLINE}`));
      },
    });
  }
  return actions;
}

/** Your newest message in `messages` that can still be edited (stored, not deleted): what ↑ edits. */
export function lastEditable(messages: readonly MessageView[], me: string): MessageView | undefined {
  return messages.findLast((message) => message.senderId === me && message.seq !== null && !message.deleted);
}

/**
 * Puts a message's text on the clipboard and says whether it worked. The clipboard exists only on
 * secure pages (https, localhost): elsewhere writing rejects and the user is told.
 */
export function copyText(text: string, handlers: Pick<MessageHandlers, 'notify'>): Promise<void> {
  return navigator.clipboard.writeText(text).then(
    () => handlers.notify('Copied'),
    () => handlers.notify('The text could not be copied.'),
  );
}

/** Takes a message the server refused out of the outbox and puts its text into its composer's draft. */
export function takeBackRefused(session: ChatSession, message: MessageView): void {
  restoreDraft(session.account.userId, message);
  if (message.clientMsgId !== null) void session.client.discard(message.clientMsgId);
}
