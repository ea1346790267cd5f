import type { ChatEvent } from '@natter/protocol';

/**
 * A member sees the log from the seq they joined at (§10.10), yet an event after that may carry
 * the content of a message from before: an edit of it (its new text), a reply quoting it (its text
 * and sender). Reads and live pushes alike pass each event through `asSeenFrom` so that such content
 * never reaches a member who joined later; everything else about the event stays as it is.
 */

/** The seq of the earlier message whose content this event carries, or null when it carries none. */
export function contentSourceOf(event: ChatEvent): number | null {
  if (event.kind === 'edit') return event.ref_seq;
  if (event.kind === 'message') return event.data?.reply_to?.seq ?? null;
  return null;
}

/** The event as a member who joined at `joinedSeq` may see it. */
export function asSeenFrom(event: ChatEvent, joinedSeq: number): ChatEvent {
  const source = contentSourceOf(event);
  if (source === null || source >= joinedSeq) return event;
  if (event.kind === 'edit') return { ...event, body: null };
  return {
    ...event,
    data: {
      ...event.data,
      reply_to: { seq: source, sender_id: null, body: null, deleted: false, hidden: true },
    },
  };
}
