import type { MemberRow } from './log-rows.js';

/** A member's cursors after a move. */
export interface Cursors {
  deliveredSeq: number;
  readSeq: number;
}

/**
 * Where a member's cursors go when they report `delivered` / `read` (null: not reported). Cursors
 * never move back, never pass `lastSeq` (the conversation's newest seq), and what is read counts
 * as delivered. Returns null when neither cursor moves (nothing to write).
 */
export function clampCursor(
  current: Pick<MemberRow, 'delivered_seq' | 'read_seq'>,
  delivered: number | null,
  read: number | null,
  lastSeq: number,
): Cursors | null {
  const readSeq = Math.max(current.read_seq, Math.min(read ?? 0, lastSeq));
  const deliveredSeq = Math.max(current.delivered_seq, readSeq, Math.min(delivered ?? 0, lastSeq));
  if (readSeq === current.read_seq && deliveredSeq === current.delivered_seq) return null;
  return { deliveredSeq, readSeq };
}
