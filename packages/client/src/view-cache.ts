import type { MessageView } from './chat-state.js';

/**
 * What `ChatState` hands out, kept per conversation until that conversation changes: the same
 * array on every call while nothing changed there (so an app compares with `===` and skips work),
 * and the same view object as before for a message still in the outbox that looks the same (stored
 * messages keep theirs in `ChatState`), so a row memoized on its message re-renders only when that
 * message changed.
 */
export class ViewCache {
  private readonly versions = new Map<string, number>();
  /** Per conversation: what was built last, by what was asked ("timeline", ...), and at which version. */
  private readonly built = new Map<string, Map<string, { version: number; value: unknown }>>();
  /** Per conversation: the views of messages still in the outbox handed out last, by client_msg_id. */
  private readonly handedOut = new Map<string, Map<string, MessageView>>();

  /** Starts at 0 and grows by one at every change in the conversation. */
  versionOf(conversationId: string): number {
    return this.versions.get(conversationId) ?? 0;
  }

  /** The conversation changed: what was built for it is built again when next asked for. */
  bump(conversationId: string): void {
    this.versions.set(conversationId, this.versionOf(conversationId) + 1);
  }

  /**
   * What `build` returns, built once per version of the conversation. An array built again with
   * the same items as before (a change elsewhere in the conversation, typing say) is the one
   * handed out before.
   */
  get<T>(conversationId: string, what: string, build: () => T): T {
    let built = this.built.get(conversationId);
    if (!built) {
      built = new Map();
      this.built.set(conversationId, built);
    }
    const version = this.versionOf(conversationId);
    const before = built.get(what);
    if (before?.version === version) return before.value as T;
    const value = build();
    const kept = before && sameItems(before.value, value) ? (before.value as T) : value;
    built.set(what, { version, value: kept });
    return kept;
  }

  /**
   * The view handed out before for this message still in the outbox if it looks the same, else
   * `view` (kept for next time).
   */
  stable(view: MessageView): MessageView {
    let views = this.handedOut.get(view.conversationId);
    if (!views) {
      views = new Map();
      this.handedOut.set(view.conversationId, views);
    }
    const key = view.clientMsgId ?? '';
    const before = views.get(key);
    if (before && sameData(before, view)) return before;
    views.set(key, view);
    return view;
  }

  /** The message left the outbox (stored or discarded): its view is not asked for again. */
  forget(conversationId: string, clientMsgId: string): void {
    this.handedOut.get(conversationId)?.delete(clientMsgId);
  }
}

/** Two arrays whose items are the same objects, or objects whose fields are the same objects. */
function sameItems(a: unknown, b: unknown): boolean {
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  return a.every((item, index) => item === b[index] || sameFields(item, b[index]));
}

function sameFields(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  return keys.length === Object.keys(right).length && keys.every((key) => left[key] === right[key]);
}

/** Deep equality of plain data (what a view holds: strings, numbers, arrays, plain objects, null). */
function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, index) => sameData(item, b[index]));
  }
  if (Array.isArray(b)) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  return keys.every((key) => Object.hasOwn(right, key) && sameData(left[key], right[key]));
}
