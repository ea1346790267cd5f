/**
 * The words a user is found by in a user search: their whole username and each word of their
 * display name, lower-cased (Unicode-aware, so "Émile" is found by "ém"). A hyphenated word counts
 * whole and by its parts ("Mary-Jane" is found by "mary-j" and by "jane"). Both stores index
 * exactly these, and a search matches each of its words (`queryWords`) against them as prefixes.
 */
export function nameWords(username: string | null, displayName: string | null): string[] {
  const words = new Set<string>();
  if (username) words.add(username.toLowerCase());
  for (const word of queryWords(displayName ?? '')) {
    words.add(word);
    for (const part of word.split(/[^\p{L}\p{N}]+/u)) if (part) words.add(part);
  }
  return [...words];
}

/** The lower-cased words of a text as typed: split at spaces and punctuation other than `_ . -`. */
export function queryWords(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}_.-]+/u)
    .filter((word) => word.length > 0);
}

/** The exclusive upper bound of the words that start with `prefix`, in binary (code point) order. */
export function prefixUpperBound(prefix: string): string {
  return `${prefix}\u{10FFFF}`;
}
