/**
 * The deepest nesting of arrays and objects accepted in client JSON (WebSocket frames, HTTP bodies).
 * The deepest real frame nests 3 levels (`sync` -> `held` -> entry), so 32 rejects nothing a client
 * needs. The bound exists because every later walk over a parsed value recurses: JSON.stringify of
 * a `type` nested ~4,000 levels (an 8 KB frame) overflowed the stack and ended the process.
 */
export const MAX_JSON_DEPTH = 32;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;

/**
 * Whether `text` opens more than `maxDepth` arrays or objects inside each other. One pass over the
 * raw text, before it is parsed, in constant memory; brackets inside strings do not count. It does
 * not validate the JSON (JSON.parse does that afterwards): for text that is not JSON the answer only
 * bounds what JSON.parse will be asked to build.
 */
export function exceedsJsonDepth(text: string, maxDepth = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === BACKSLASH) i++;
      else if (char === QUOTE) inString = false;
    } else if (char === QUOTE) {
      inString = true;
    } else if (char === OPEN_BRACKET || char === OPEN_BRACE) {
      depth++;
      if (depth > maxDepth) return true;
    } else if (char === CLOSE_BRACKET || char === CLOSE_BRACE) {
      // Unbalanced closers are JSON.parse's to refuse; depth never counts them below zero.
      if (depth > 0) depth--;
    }
  }
  return false;
}
