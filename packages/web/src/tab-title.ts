import type { ConversationSummary } from '@natter/protocol/core';

/**
 * The browser tab's title: "(3) Natter" while 3 messages are unread, counting the conversations that
 * notify (a muted one does not nag from the tab either); "Natter" when all is read.
 */
export function tabTitle(conversations: readonly ConversationSummary[]): string {
  let unread = 0;
  for (const conversation of conversations) {
    if (conversation.notifications === 'all') unread += conversation.unread;
    else if (conversation.notifications === 'mentions') unread += conversation.mentions;
  }
  if (unread === 0) return 'Natter';
  return `(${unread > 999 ? '999+' : unread}) Natter`;
}
