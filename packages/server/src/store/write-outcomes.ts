import type { ChatEvent } from '@natter/protocol';
import type { Cursors } from './cursor-rules.js';
import type { WriteOutcome } from './write-ops.js';

/** An op's outcome: the events it committed (for a duplicate, the original ones), no cursor move. */
export function outcome(conversationId: string, events: ChatEvent[], duplicate = false): WriteOutcome {
  return { conversationId, events, duplicate, cursor: null };
}

/** A cursor op's outcome when the member's cursors moved to `moved`. */
export function cursorOutcome(conversationId: string, userId: string, moved: Cursors): WriteOutcome {
  const cursor = { conversationId, userId, deliveredSeq: moved.deliveredSeq, readSeq: moved.readSeq };
  return { conversationId, events: [], duplicate: false, cursor };
}
