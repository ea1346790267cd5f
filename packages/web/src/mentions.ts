import type { Block, Inline } from './message-markup.js';

/**
 * Mentions in message text: what the composer's "@" autocomplete offers and inserts, which
 * mentions a message still names when it is sent, and where the `@name` tokens of a received
 * message are, to show them as pills. A mention is written `@handle`: a username, or `all` / `here`.
 * Handles compare case-insensitively, as usernames do.
 */

/** Someone the composer can mention: a member, or `@all` / `@here` in a group. */
export interface MentionCandidate {
  /** What goes into the send's `mentions`: a user id, or `@all` / `@here`. */
  id: string;
  /** What follows the "@" in the text. */
  handle: string;
  /** The name shown in the autocomplete list. */
  name: string;
}

/** How one handle of a message is shown: `me` when it points at the reader. */
export interface MentionHandle {
  handle: string;
  me: boolean;
}

const HANDLE_CHAR = /[\p{L}\p{N}_.-]/u;
const WORD_CHAR = /[\p{L}\p{N}_]/u;
/** "@que" right before the caret, with the "@" at the start or after a space or an opening bracket. */
const QUERY_BEFORE_CARET = /(?:^|[\s([{"'])@([\p{L}\p{N}_.-]*)$/u;
const MAX_SUGGESTIONS = 8;

/** The "@query" being typed just before the caret, if any: where its "@" is and what follows it. */
export function mentionQueryAt(text: string, caret: number): { start: number; query: string } | null {
  const match = QUERY_BEFORE_CARET.exec(text.slice(0, caret));
  if (!match) return null;
  const query = match[1]!;
  return { start: caret - query.length - 1, query };
}

/**
 * The candidates that match what was typed after "@", best first: handles that start with it, then
 * names with a word that starts with it, then anything containing it; list order within each.
 */
export function filterCandidates(
  candidates: readonly MentionCandidate[],
  query: string,
  limit = MAX_SUGGESTIONS,
): MentionCandidate[] {
  const wanted = query.toLowerCase();
  const rank = (candidate: MentionCandidate): number => {
    const handle = candidate.handle.toLowerCase();
    const name = candidate.name.toLowerCase();
    if (handle.startsWith(wanted)) return 0;
    if (name.split(/\s+/).some((word) => word.startsWith(wanted))) return 1;
    if (handle.includes(wanted) || name.includes(wanted)) return 2;
    return -1;
  };
  return candidates
    .map((candidate, index) => ({ candidate, index, rank: rank(candidate) }))
    .filter((entry) => entry.rank >= 0)
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .slice(0, limit)
    .map((entry) => entry.candidate);
}

/** Replaces the "@query" from `start` to the caret with "@handle " and says where the caret goes. */
export function insertMention(
  text: string,
  start: number,
  caret: number,
  handle: string,
): { text: string; caret: number } {
  const inserted = `@${handle} `;
  const after = text.slice(caret).replace(/^ /, '');
  return { text: text.slice(0, start) + inserted + after, caret: start + inserted.length };
}

/** The ids of the picked mentions whose "@handle" is still in the text, each once, in pick order. */
export function mentionsInText(text: string, picked: readonly MentionCandidate[]): string[] {
  const ids = new Set<string>();
  for (const candidate of picked) {
    if (findHandle(text, [candidate.handle], 0) !== null) ids.add(candidate.id);
  }
  return [...ids];
}

/**
 * Splits a message's inline nodes so that each `@handle` of `handles` becomes a mention node.
 * Only plain text is searched: code spans, code blocks and links stay as they are.
 */
export function highlightMentions(blocks: Block[], handles: readonly MentionHandle[]): Block[] {
  if (handles.length === 0) return blocks;
  return blocks.map((block) =>
    block.kind === 'paragraph' ? { ...block, children: highlightInline(block.children, handles) } : block,
  );
}

function highlightInline(nodes: Inline[], handles: readonly MentionHandle[]): Inline[] {
  return nodes.flatMap((node): Inline[] => {
    if (node.kind === 'bold' || node.kind === 'italic')
      return [{ ...node, children: highlightInline(node.children, handles) }];
    if (node.kind !== 'text') return [node];
    return splitText(node.text, handles);
  });
}

function splitText(text: string, handles: readonly MentionHandle[]): Inline[] {
  const names = handles.map((h) => h.handle);
  const nodes: Inline[] = [];
  let from = 0;
  let at = 0;
  for (let found = findHandle(text, names, at); found; found = findHandle(text, names, at)) {
    if (found.start > from) nodes.push({ kind: 'text', text: text.slice(from, found.start) });
    const me = handles.some((h) => h.me && h.handle.toLowerCase() === found.handle.toLowerCase());
    nodes.push({ kind: 'mention', text: text.slice(found.start, found.end), me });
    from = found.end;
    at = found.end;
  }
  if (from < text.length) nodes.push({ kind: 'text', text: text.slice(from) });
  return nodes;
}

/**
 * The first "@handle" at or after `from` for any of `handles` (the longest when several fit):
 * the "@" must not follow a word character (so an e-mail address is no mention), and the handle
 * must end there (`@bob` is not in `@bobby`; `@bob.` at a sentence's end is).
 */
function findHandle(
  text: string,
  handles: readonly string[],
  from: number,
): { start: number; end: number; handle: string } | null {
  const lower = text.toLowerCase();
  const longestFirst = [...handles].sort((a, b) => b.length - a.length);
  for (let at = lower.indexOf('@', from); at !== -1; at = lower.indexOf('@', at + 1)) {
    if (at > 0 && (WORD_CHAR.test(text[at - 1]!) || text[at - 1] === '@')) continue;
    for (const handle of longestFirst) {
      const end = at + 1 + handle.length;
      if (handle === '' || !lower.startsWith(handle.toLowerCase(), at + 1)) continue;
      if (endsHandle(text, end)) return { start: at, end, handle };
    }
  }
  return null;
}

function endsHandle(text: string, end: number): boolean {
  const next = text[end];
  if (next === undefined) return true;
  if (next === '.' || next === '-') return !HANDLE_CHAR.test(text[end + 1] ?? ' ');
  return !HANDLE_CHAR.test(next);
}
