import type { ChatState } from '@natter/client';

/**
 * "Jump to message": from a reply's quote, the pinned list (and search, later), bring a message of
 * a conversation into view. Older history is loaded page by page until the message is held; then
 * the conversation's message list, which alone knows where its (virtualized) rows are, scrolls to
 * it and highlights it for HIGHLIGHT_MS.
 */

/** A message further back than this many pages of history is not looked for. */
export const JUMP_MAX_PAGES = 20;
/** How long a message jumped to stays highlighted (the CSS animation runs as long). */
export const HIGHLIGHT_MS = 2000;

/** What an open message list offers: scroll to the message at `seq` and highlight it; false if it has no row for it. */
export interface MessageRevealer {
  reveal(seq: number): boolean;
}

const revealers = new Map<string, MessageRevealer>();
/** A jump asked for before its conversation's list was on screen: done when the list registers. */
const waiting = new Map<string, number>();

/** The message list of `conversationId` takes the jumps to its messages until the returned function is called. */
export function registerRevealer(conversationId: string, revealer: MessageRevealer): () => void {
  revealers.set(conversationId, revealer);
  const seq = waiting.get(conversationId);
  if (seq !== undefined) {
    waiting.delete(conversationId);
    requestAnimationFrame(() => revealer.reveal(seq));
  }
  return () => {
    if (revealers.get(conversationId) === revealer) revealers.delete(conversationId);
  };
}

/**
 * Loads older history until the message at `seq` is held (at most JUMP_MAX_PAGES pages), then
 * scrolls it into view and highlights it. False when it cannot be shown: sent before you joined,
 * further back than the bound, or the history could not be loaded (offline).
 */
export async function jumpToMessage(chat: ChatState, conversationId: string, seq: number): Promise<boolean> {
  const summary = chat.conversation(conversationId);
  if (!summary || seq < summary.joined_seq || seq > summary.last_seq) return false;
  try {
    for (let page = 0; !chat.message(conversationId, seq); page++) {
      if (page === JUMP_MAX_PAGES) return false;
      const more = await chat.loadOlder(conversationId);
      if (!more && !chat.message(conversationId, seq)) return false;
    }
  } catch {
    return false;
  }
  // The rows of a page just loaded are rendered on the next frame.
  await new Promise((resolve) => requestAnimationFrame(resolve));
  const revealer = revealers.get(conversationId);
  if (revealer) return revealer.reveal(seq);
  waiting.set(conversationId, seq);
  return true;
}
