import type { MessageView } from '@natter/client';

/**
 * What you had typed and not sent, per account and conversation (and thread), kept in
 * localStorage so switching conversations or reloading does not lose it. Sending clears it; so
 * does logging out.
 */

const PREFIX = 'natter.draft.';

function draftKey(userId: string, conversationId: string, threadRoot?: number): string {
  return `${PREFIX}${userId}.${conversationId}${threadRoot === undefined ? '' : `.${threadRoot}`}`;
}

export function loadDraft(userId: string, conversationId: string, threadRoot?: number): string {
  try {
    return localStorage.getItem(draftKey(userId, conversationId, threadRoot)) ?? '';
  } catch {
    return '';
  }
}

/** Keeps `text` as the draft; an empty (or blank) text removes it. */
export function saveDraft(userId: string, conversationId: string, text: string, threadRoot?: number): void {
  const key = draftKey(userId, conversationId, threadRoot);
  try {
    if (text.trim()) localStorage.setItem(key, text);
    else localStorage.removeItem(key);
  } catch {
    // Storage full or disabled: the draft lives only as long as the composer, nothing worse.
  }
}

export function clearDrafts(userId: string): void {
  const mine = `${PREFIX}${userId}.`;
  for (const key of Object.keys(localStorage)) if (key.startsWith(mine)) localStorage.removeItem(key);
}

/**
 * Puts the text of a message the server refused back into its composer's draft (its conversation's,
 * or its thread's), after whatever is being written there.
 */
export function restoreDraft(userId: string, message: MessageView): void {
  const threadRoot = message.threadRoot ?? undefined;
  const draft = loadDraft(userId, message.conversationId, threadRoot);
  const text = message.body ?? '';
  saveDraft(userId, message.conversationId, draft.trim() ? `${draft}\n${text}` : text, threadRoot);
}
