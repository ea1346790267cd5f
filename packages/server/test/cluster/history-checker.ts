import { isDeepStrictEqual } from 'node:util';
import type { ChatEvent } from '@natter/protocol';

/**
 * Checks what a run of concurrent senders and readers saw against the promises of the log, and
 * returns every violation found (empty: none). `history` is the conversation's log as read back;
 * `acked` maps each acknowledged client_msg_id to the seq its ack carried.
 */
export function logViolations(history: readonly ChatEvent[], acked: ReadonlyMap<string, number>): string[] {
  const problems: string[] = [];
  history.forEach((event, i) => {
    if (event.seq !== i + 1)
      problems.push(`history position ${i} holds seq ${event.seq}: a gap or a duplicate`);
  });
  const seen = new Map<string, number[]>();
  for (const event of history) {
    if (event.client_msg_id === null) continue;
    seen.set(event.client_msg_id, [...(seen.get(event.client_msg_id) ?? []), event.seq]);
  }
  for (const [clientMsgId, seq] of acked) {
    const stored = seen.get(clientMsgId) ?? [];
    if (stored.length !== 1 || stored[0] !== seq) {
      problems.push(`acked ${clientMsgId} at seq ${seq}, stored at [${stored.join(', ')}]`);
    }
  }
  for (const [clientMsgId, seqs] of seen) {
    if (!acked.has(clientMsgId)) problems.push(`seq ${seqs.join(', ')} (${clientMsgId}) was never acked`);
  }
  return problems;
}

/**
 * A reader that promises each event once, in seq order (the SDK): what it emitted must be one
 * contiguous run of the history, ending at its end, with every event identical to the stored one.
 */
export function orderedStreamViolations(
  reader: string,
  stream: readonly ChatEvent[],
  history: readonly ChatEvent[],
): string[] {
  const first = stream[0];
  if (first === undefined) return [`${reader} saw nothing`];
  const expected = history.slice(first.seq - 1);
  const problems = sameEvents(reader, stream, history);
  if (stream.length !== expected.length || stream.some((e, i) => e.seq !== expected[i]?.seq)) {
    const seqs = stream.map((e) => e.seq).join(',');
    problems.push(`${reader} saw seqs [${seqs}], expected ${first.seq}..${history.length} in order`);
  }
  return problems;
}

/**
 * A raw live stream (best effort, as the server pushes it): no event twice, each identical to the
 * stored one, and the events of one origin (a node) in commit order. `origin` names an event's.
 */
export function liveStreamViolations(
  reader: string,
  stream: readonly ChatEvent[],
  history: readonly ChatEvent[],
  origin: (event: ChatEvent) => string,
): string[] {
  const problems = sameEvents(reader, stream, history);
  const seqs = stream.map((e) => e.seq);
  if (new Set(seqs).size !== seqs.length)
    problems.push(`${reader} got a live event twice: [${seqs.join(',')}]`);
  const lastByOrigin = new Map<string, number>();
  for (const event of stream) {
    const from = origin(event);
    const last = lastByOrigin.get(from) ?? 0;
    if (event.seq < last) problems.push(`${reader} got seq ${event.seq} from ${from} after seq ${last}`);
    lastByOrigin.set(from, event.seq);
  }
  return problems;
}

function sameEvents(reader: string, stream: readonly ChatEvent[], history: readonly ChatEvent[]): string[] {
  const problems: string[] = [];
  for (const event of stream) {
    const stored = history[event.seq - 1];
    if (!isDeepStrictEqual(stored, event)) {
      problems.push(
        `${reader} saw seq ${event.seq} as ${JSON.stringify(event)}, stored ${JSON.stringify(stored)}`,
      );
    }
  }
  return problems;
}
