/** A snippet cut into plain and matched runs, from the server's highlight offsets (never markup). */
export interface SnippetPart {
  text: string;
  matched: boolean;
}

/**
 * The runs of `snippet`: the [start, end) ranges (UTF-16 offsets) are matched, the rest plain.
 * Overlapping, out-of-order or out-of-range ranges are clamped and skipped, never trusted.
 */
export function snippetParts(
  snippet: string,
  highlights: ReadonlyArray<readonly [number, number]>,
): SnippetPart[] {
  const parts: SnippetPart[] = [];
  let at = 0;
  for (const [rawStart, rawEnd] of highlights) {
    const start = Math.max(at, Math.min(rawStart, snippet.length));
    const end = Math.min(Math.max(rawEnd, start), snippet.length);
    if (end <= start) continue;
    if (start > at) parts.push({ text: snippet.slice(at, start), matched: false });
    parts.push({ text: snippet.slice(start, end), matched: true });
    at = end;
  }
  if (at < snippet.length) parts.push({ text: snippet.slice(at), matched: false });
  return parts;
}
