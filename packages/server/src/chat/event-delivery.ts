import type { ChatEvent, EventFrame } from '@natter/protocol';
import { asSeenFrom, contentSourceOf } from '../store/pre-join-view.js';

/** A recipient of a live event, and the seq their view of the conversation starts at. */
export interface Viewer {
  userId: string;
  joinedSeq: number;
}

/**
 * Hands `send` the event's frame, serialized once per variant, with the users to write it to. An
 * event carrying the content of an earlier message (an edit, a quote) goes as it is to those who
 * could see that message, and without that content to those who joined after it.
 */
export function sendAsSeen(
  event: ChatEvent,
  viewers: Iterable<Viewer>,
  send: (userIds: string[], frame: string) => void,
): void {
  const source = contentSourceOf(event);
  const seeing: string[] = [];
  const later: Viewer[] = [];
  for (const v of viewers) {
    if (source !== null && v.joinedSeq > source) later.push(v);
    else seeing.push(v.userId);
  }
  if (seeing.length > 0) send(seeing, frameOf(event));
  if (later.length > 0) {
    send(
      later.map((v) => v.userId),
      frameOf(asSeenFrom(event, later[0]!.joinedSeq)),
    );
  }
}

function frameOf(event: ChatEvent): string {
  return JSON.stringify({ type: 'event', event } satisfies EventFrame);
}
