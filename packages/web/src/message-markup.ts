/**
 * Markdown-lite for message text, parsed into plain data that the web app renders as React
 * elements (never as HTML, so `<script>` in a message is only ever text):
 *
 * - `*bold*` and `**bold**`, `_italic_`: a marker opens only at the start of a word and closes only
 *   at its end, so `snake_case_names` and `2*3*4` stay as typed. Bold and italic nest in each other,
 *   never in themselves, so nesting is at most two deep.
 * - `` `code` ``: nothing is formatted inside; a run of n backticks closes at the next run of n.
 * - ```` ``` ```` fences a code block (a language word on the opening line becomes `language`, not text).
 * - `[label](url)` and bare `http(s)://` URLs become links; any other scheme stays text.
 * - A message of one to three emoji and nothing else is `emojiOnly` (shown enlarged).
 *
 * A marker that opens nothing stays in the text as typed.
 */
export interface MessageMarkup {
  blocks: Block[];
  emojiOnly: boolean;
}

export type Block =
  | { kind: 'paragraph'; children: Inline[] }
  | { kind: 'code-block'; text: string; language: string | null };

export type Inline =
  | { kind: 'text'; text: string }
  | { kind: 'bold'; children: Inline[] }
  | { kind: 'italic'; children: Inline[] }
  | { kind: 'code'; text: string }
  | { kind: 'link'; href: string; text: string }
  /** Never made by the parser: `highlightMentions` (mentions.ts) marks the `@name`s a message mentions. */
  | { kind: 'mention'; text: string; me: boolean };

type Emphasis = 'bold' | 'italic';

const FENCE = '```';
const EMPHASIS_MARKERS: readonly { marker: string; kind: Emphasis }[] = [
  { marker: '**', kind: 'bold' },
  { marker: '*', kind: 'bold' },
  { marker: '_', kind: 'italic' },
];
const WORD_CHAR = /[\p{L}\p{N}_]/u;
const WHITESPACE = /\s/u;
const BARE_URL = /https?:\/\/[^\s<>]+/iy;
/** Punctuation that ends a sentence rather than a URL: `see https://example.com.` */
const URL_TRAILING_PUNCTUATION = /[.,:;!?'"*_]$/;
const LANGUAGE_LINE = /^([\w+#.-]+)\n/;
/** Longer than any three emoji (a ZWJ family with skin tones is about 20 UTF-16 units). */
const EMOJI_ONLY_MAX_LENGTH = 100;
const EMOJI_ONLY_MAX_COUNT = 3;

export function parseMessage(body: string): MessageMarkup {
  if (isEmojiOnly(body)) {
    return {
      emojiOnly: true,
      blocks: [{ kind: 'paragraph', children: [{ kind: 'text', text: body.trim() }] }],
    };
  }
  return { emojiOnly: false, blocks: parseBlocks(body) };
}

/** The text a reader sees, without markup: for one-line previews such as the conversation list. */
export function plainText(body: string): string {
  return parseMessage(body)
    .blocks.map((block) => (block.kind === 'code-block' ? block.text : inlineText(block.children)))
    .join(' ');
}

function inlineText(nodes: Inline[]): string {
  return nodes
    .map((node) => (node.kind === 'bold' || node.kind === 'italic' ? inlineText(node.children) : node.text))
    .join('');
}

/** Splits out fenced code blocks; the line breaks next to a fence belong to the fence. */
function parseBlocks(body: string): Block[] {
  const blocks: Block[] = [];
  let paragraph = '';
  let at = 0;
  while (at < body.length) {
    const open = body.indexOf(FENCE, at);
    const close = open === -1 ? -1 : body.indexOf(FENCE, open + FENCE.length);
    if (close === -1) break;
    let code = body.slice(open + FENCE.length, close);
    if (code.trim() === '') {
      paragraph += body.slice(at, close + FENCE.length);
      at = close + FENCE.length;
      continue;
    }
    const languageLine = LANGUAGE_LINE.exec(code);
    const language =
      languageLine && code.slice(languageLine[0].length).trim() !== '' ? languageLine[1]! : null;
    if (languageLine && language) code = code.slice(languageLine[0].length);
    pushParagraph(blocks, paragraph + body.slice(at, open).replace(/\n$/, ''));
    blocks.push({ kind: 'code-block', text: code.replace(/^\n/, '').replace(/\n$/, ''), language });
    paragraph = '';
    at = close + FENCE.length;
    if (body[at] === '\n') at += 1;
  }
  pushParagraph(blocks, paragraph + body.slice(at));
  return blocks;
}

function pushParagraph(blocks: Block[], text: string): void {
  if (text !== '') blocks.push({ kind: 'paragraph', children: parseInline(text, new Set()) });
}

function parseInline(text: string, inside: ReadonlySet<Emphasis>): Inline[] {
  const closers = new CloserSearch(text);
  const nodes: Inline[] = [];
  let plain = '';
  const flush = () => {
    if (plain !== '') nodes.push({ kind: 'text', text: plain });
    plain = '';
  };
  let at = 0;
  while (at < text.length) {
    const atom = atomAt(text, at);
    const span = atom ? null : emphasisAt(text, at, inside, closers);
    if (atom) {
      flush();
      nodes.push(atom.node);
      at = atom.end;
    } else if (span) {
      flush();
      const content = text.slice(span.contentStart, span.contentEnd);
      nodes.push({ kind: span.kind, children: parseInline(content, new Set([...inside, span.kind])) });
      at = span.contentEnd + span.markerLength;
    } else {
      // A run of marker characters that opens nothing is text as a whole: `**x*` is not bold `*x`.
      const end = isMarkerChar(text[at]) ? runEnd(text, at) : at + 1;
      plain += text.slice(at, end);
      at = end;
    }
  }
  flush();
  return nodes;
}

/** Code spans and links: taken whole, with no formatting inside and no marker closing within them. */
function atomAt(text: string, at: number): { node: Inline; end: number } | null {
  const char = text[at];
  if (char === '`') return codeSpanAt(text, at);
  if (char === '[') return labelledLinkAt(text, at);
  if ((char === 'h' || char === 'H') && !WORD_CHAR.test(text[at - 1] ?? ' ')) return bareUrlAt(text, at);
  return null;
}

function codeSpanAt(text: string, at: number): { node: Inline; end: number } | null {
  const fence = runEnd(text, at) - at;
  let search = at + fence;
  while (search < text.length) {
    const start = text.indexOf('`', search);
    if (start === -1) return null;
    const end = runEnd(text, start);
    if (end - start === fence) return { node: { kind: 'code', text: text.slice(at + fence, start) }, end };
    search = end;
  }
  return null;
}

/** Stops at the next `[`, so a message of many `[` costs linear time, not quadratic. */
function labelledLinkAt(text: string, at: number): { node: Inline; end: number } | null {
  let labelEnd = at + 1;
  while (labelEnd < text.length && !'[]\n'.includes(text[labelEnd]!)) labelEnd += 1;
  if (!text.startsWith('](', labelEnd)) return null;
  const label = text.slice(at + 1, labelEnd);
  if (label.trim() === '') return null;
  // Balanced parentheses stay in the URL: [x](https://en.wikipedia.org/wiki/Pipe_(Unix)).
  let depth = 0;
  for (let end = labelEnd + 2; end < text.length; end += 1) {
    const char = text[end]!;
    if (char === '[' || WHITESPACE.test(char)) return null;
    if (char === '(') depth += 1;
    if (char === ')' && depth-- === 0) {
      const href = text.slice(labelEnd + 2, end);
      return isWebUrl(href) ? { node: { kind: 'link', href, text: label }, end: end + 1 } : null;
    }
  }
  return null;
}

function bareUrlAt(text: string, at: number): { node: Inline; end: number } | null {
  BARE_URL.lastIndex = at;
  let url = BARE_URL.exec(text)?.[0];
  if (!url) return null;
  for (;;) {
    if (URL_TRAILING_PUNCTUATION.test(url)) url = url.slice(0, -1);
    else if (url.endsWith(')') && count(url, '(') < count(url, ')')) url = url.slice(0, -1);
    else break;
  }
  return isWebUrl(url) ? { node: { kind: 'link', href: url, text: url }, end: at + url.length } : null;
}

/** Only http(s) with a host is ever a link: never `javascript:`, `data:` or anything else. */
function isWebUrl(href: string): boolean {
  if (!/^https?:\/\//i.test(href)) return false;
  try {
    const url = new URL(href);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

function emphasisAt(
  text: string,
  at: number,
  inside: ReadonlySet<Emphasis>,
  closers: CloserSearch,
): { kind: Emphasis; contentStart: number; contentEnd: number; markerLength: number } | null {
  if (!isMarkerChar(text[at]) || WORD_CHAR.test(text[at - 1] ?? ' ')) return null;
  const run = runEnd(text, at) - at;
  for (const { marker, kind } of EMPHASIS_MARKERS) {
    if (inside.has(kind) || marker.length !== run || !text.startsWith(marker, at)) continue;
    const contentStart = at + marker.length;
    if (WHITESPACE.test(text[contentStart] ?? ' ')) return null;
    const contentEnd = closers.find(marker, contentStart);
    return contentEnd === -1 ? null : { kind, contentStart, contentEnd, markerLength: marker.length };
  }
  return null;
}

/**
 * Finds where an emphasis marker closes: at the end of a word, after at least one character,
 * skipping code spans and links. Every search steps through the text the way `parseInline` does,
 * so once a search from some position finds no closer, none from a later position can: remembering
 * that keeps a message full of unclosed markers (`*a *a *a …`) linear instead of quadratic.
 */
class CloserSearch {
  private readonly noCloserFrom = new Map<string, number>();

  constructor(private readonly text: string) {}

  /** The closer's index, or -1 if `marker` does not close after `contentStart`. */
  find(marker: string, contentStart: number): number {
    const text = this.text;
    if (contentStart >= (this.noCloserFrom.get(marker) ?? Number.POSITIVE_INFINITY)) return -1;
    let at = contentStart;
    while (at < text.length) {
      const atom = atomAt(text, at);
      if (atom) {
        at = atom.end;
        continue;
      }
      if (!isMarkerChar(text[at])) {
        at += 1;
        continue;
      }
      const end = runEnd(text, at);
      const closes =
        at > contentStart &&
        text.startsWith(marker, at) &&
        end - at === marker.length &&
        !WHITESPACE.test(text[at - 1]!) &&
        !WORD_CHAR.test(text[end] ?? ' ');
      if (closes) return at;
      at = end;
    }
    this.noCloserFrom.set(marker, contentStart);
    return -1;
  }
}

function isMarkerChar(char: string | undefined): boolean {
  return char === '*' || char === '_' || char === '`';
}

/** The end of the run of the character at `at`: `***x` from 0 ends at 3. */
function runEnd(text: string, at: number): number {
  let end = at;
  while (text[end] === text[at]) end += 1;
  return end;
}

function count(text: string, char: string): number {
  return text.split(char).length - 1;
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const FLAG = /^\p{Regional_Indicator}{2}$/u;
const KEYCAP = /^[#*0-9]\uFE0F?\u20E3$/u;
const PICTOGRAPH = /^\p{Extended_Pictographic}/u;
const EMOJI_PRESENTATION = /\p{Emoji_Presentation}/u;

/** One to three emoji and nothing else (spaces between them allowed). ©, ™ and digits are not emoji here. */
export function isEmojiOnly(body: string): boolean {
  const trimmed = body.trim();
  if (trimmed === '' || trimmed.length > EMOJI_ONLY_MAX_LENGTH) return false;
  const shown = [...graphemes.segment(trimmed)].map((s) => s.segment).filter((g) => !WHITESPACE.test(g));
  return shown.length <= EMOJI_ONLY_MAX_COUNT && shown.every(isEmoji);
}

function isEmoji(grapheme: string): boolean {
  return (
    FLAG.test(grapheme) ||
    KEYCAP.test(grapheme) ||
    EMOJI_PRESENTATION.test(grapheme) ||
    (PICTOGRAPH.test(grapheme) && grapheme.includes('\uFE0F'))
  );
}
