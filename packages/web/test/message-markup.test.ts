import { describe, expect, it } from 'vitest';
import { type Inline, isEmojiOnly, parseMessage, plainText } from '../src/message-markup.js';

/** The inline nodes of a message that is one paragraph. */
function inline(body: string): Inline[] {
  const { blocks } = parseMessage(body);
  expect(blocks).toHaveLength(1);
  const [block] = blocks;
  if (block?.kind !== 'paragraph') throw new Error(`expected a paragraph, got ${JSON.stringify(block)}`);
  return block.children;
}

const text = (value: string): Inline => ({ kind: 'text', text: value });
const bold = (...children: Inline[]): Inline => ({ kind: 'bold', children });
const italic = (...children: Inline[]): Inline => ({ kind: 'italic', children });
const code = (value: string): Inline => ({ kind: 'code', text: value });
const link = (href: string, label = href): Inline => ({ kind: 'link', href, text: label });

describe('message markup', () => {
  it('leaves plain text as one text node', () => {
    expect(inline('Hi Bob, lunch today?')).toEqual([text('Hi Bob, lunch today?')]);
    expect(inline('two\nlines')).toEqual([text('two\nlines')]);
  });

  it('bolds *single* and **double** stars, italicizes _underscores_', () => {
    expect(inline('a *big* deal')).toEqual([text('a '), bold(text('big')), text(' deal')]);
    expect(inline('a **big** deal')).toEqual([text('a '), bold(text('big')), text(' deal')]);
    expect(inline('so _very_ nice')).toEqual([text('so '), italic(text('very')), text(' nice')]);
    expect(inline('*two words*, (_in parens_)')).toEqual([
      bold(text('two words')),
      text(', ('),
      italic(text('in parens')),
      text(')'),
    ]);
  });

  it('nests bold and italic in each other, never in themselves', () => {
    expect(inline('*bold _and italic_*')).toEqual([bold(text('bold '), italic(text('and italic')))]);
    expect(inline('_*both*_')).toEqual([italic(bold(text('both')))]);
    expect(inline('*a **b** c*')).toEqual([bold(text('a **b** c'))]);
    expect(inline('_a _b_ c_')).toEqual([italic(text('a _b')), text(' c_')]);
    const depth = (nodes: Inline[]): number =>
      Math.max(
        0,
        ...nodes.map((n) => (n.kind === 'bold' || n.kind === 'italic' ? 1 + depth(n.children) : 0)),
      );
    expect(depth(inline('*a _b *c _d_ c* b_ a*'))).toBeLessThanOrEqual(2);
    expect(depth(inline('_a *b _c *d* c_ b* a_'))).toBeLessThanOrEqual(2);
  });

  it('leaves unclosed or stray markers as typed', () => {
    for (const body of [
      '*not closed',
      'not opened*',
      '**x*',
      '***x***',
      '* spaced *',
      '_ spaced _',
      'a * b * c',
    ]) {
      expect(inline(body)).toEqual([text(body)]);
    }
    expect(inline('`unclosed code')).toEqual([text('`unclosed code')]);
    expect(inline('``x`')).toEqual([text('``x`')]);
  });

  it('does not italicize underscores inside words, nor bold stars inside them', () => {
    for (const body of [
      'snake_case_names',
      'call my_func_name()',
      '__init__',
      'x_1 + y_2',
      '2*3*4',
      'file_name_.txt',
    ]) {
      expect(inline(body)).toEqual([text(body)]);
    }
    expect(inline('rename _private_var_ now')).toEqual([
      text('rename '),
      italic(text('private_var')),
      text(' now'),
    ]);
  });

  it('formats nothing inside code spans, and a code span may hold backticks', () => {
    expect(inline('run `npm *i* _x_ <b>` now')).toEqual([
      text('run '),
      code('npm *i* _x_ <b>'),
      text(' now'),
    ]);
    expect(inline('``a ` b``')).toEqual([code('a ` b')]);
    expect(inline('*see `a*b` here*')).toEqual([bold(text('see '), code('a*b'), text(' here'))]);
    expect(inline('*`a*`')).toEqual([text('*'), code('a*')]);
  });

  it('makes fenced code blocks, dropping the language word and the line breaks next to the fences', () => {
    expect(parseMessage('Look:\n```ts\nconst a = *b*;\n```\nneat').blocks).toEqual([
      { kind: 'paragraph', children: [text('Look:')] },
      { kind: 'code-block', text: 'const a = *b*;', language: 'ts' },
      { kind: 'paragraph', children: [text('neat')] },
    ]);
    expect(parseMessage('```one line```').blocks).toEqual([
      { kind: 'code-block', text: 'one line', language: null },
    ]);
    expect(parseMessage('```\n  indented\n    more\n```').blocks).toEqual([
      { kind: 'code-block', text: '  indented\n    more', language: null },
    ]);
    expect(inline('``` unclosed *fence*')).toEqual([text('``` unclosed '), bold(text('fence'))]);
    expect(inline('empty `````` fence')).toEqual([text('empty `````` fence')]);
  });

  it('links bare http(s) URLs, leaving trailing punctuation outside', () => {
    expect(inline('see https://example.com/a_b_c?q=1.')).toEqual([
      text('see '),
      link('https://example.com/a_b_c?q=1'),
      text('.'),
    ]);
    expect(inline('(http://example.com/x), ok?')).toEqual([
      text('('),
      link('http://example.com/x'),
      text('), ok?'),
    ]);
    expect(inline('https://en.wikipedia.org/wiki/Pipe_(Unix)!')).toEqual([
      link('https://en.wikipedia.org/wiki/Pipe_(Unix)'),
      text('!'),
    ]);
    expect(inline('"https://example.com"')).toEqual([text('"'), link('https://example.com'), text('"')]);
    expect(inline('*https://example.com*')).toEqual([bold(link('https://example.com'))]);
    expect(inline('HTTPS://EXAMPLE.COM')).toEqual([link('HTTPS://EXAMPLE.COM')]);
  });

  it('links [label](url) only for http(s) URLs', () => {
    expect(inline('read [the docs](https://example.com/docs) first')).toEqual([
      text('read '),
      link('https://example.com/docs', 'the docs'),
      text(' first'),
    ]);
    expect(inline('[wiki](https://en.wikipedia.org/wiki/Pipe_(Unix))')).toEqual([
      link('https://en.wikipedia.org/wiki/Pipe_(Unix)', 'wiki'),
    ]);
  });

  it('never links javascript:, data: or other schemes', () => {
    for (const body of [
      'javascript:alert(1)',
      '[click](javascript:alert(1))',
      '[click](JaVaScRiPt:alert(1))',
      '[x](data:text/html,<script>alert(1)</script>)',
      'data:text/html;base64,PHNjcmlwdD4=',
      '[x](//evil.example)',
      '[x](ftp://example.com)',
      'xhttps://example.com',
      'https://',
    ]) {
      expect(inline(body).some((node) => node.kind === 'link')).toBe(false);
    }
  });

  it('keeps HTML-looking text as text', () => {
    for (const body of [
      '<script>alert(1)</script>',
      '<img src=x onerror="window.__pwned=1">',
      '<b>hi</b> &amp;',
    ]) {
      expect(inline(body)).toEqual([text(body)]);
    }
  });

  it('finds messages of one to three emoji and nothing else', () => {
    for (const body of ['👍', ' 🎉🎉 ', '😀 😃 😄', '❤️', '👩🏽‍💻', '🇫🇷', '🏴󠁧󠁢󠁥󠁮󠁧󠁿', '1️⃣', '👨‍👩‍👧‍👦👍']) {
      expect(isEmojiOnly(body), body).toBe(true);
    }
    for (const body of ['', '   ', '😀😃😄😁', 'ok 👍', '👍!', '©', '™', '1', '#', '*👍*']) {
      expect(isEmojiOnly(body), body).toBe(false);
    }
    expect(parseMessage(' 🎉 ')).toEqual({
      emojiOnly: true,
      blocks: [{ kind: 'paragraph', children: [text('🎉')] }],
    });
  });

  it('gives plain text without markup for previews', () => {
    expect(plainText('*Big* _news_: `v2` at https://example.com')).toBe(
      'Big news: v2 at https://example.com',
    );
    expect(plainText('[docs](https://example.com)')).toBe('docs');
    expect(plainText('Look:\n```\ncode\n```\nneat')).toBe('Look: code neat');
    expect(plainText('snake_case *stays*')).toBe('snake_case stays');
  });
});
