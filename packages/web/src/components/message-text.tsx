import type { ReactNode } from 'react';
import type { Block, Inline } from '../message-markup.js';

/**
 * Renders parsed message text as React elements: text is only ever text, never HTML. Keys are
 * positions, which is right here: the nodes come from parsing one body and never reorder.
 */
export function MessageText({ blocks }: { blocks: Block[] }) {
  return blocks.map(renderBlock);
}

function renderBlock(block: Block, index: number): ReactNode {
  return block.kind === 'code-block' ? (
    <pre key={index} className="code-block" data-language={block.language ?? undefined}>
      <code>{block.text}</code>
    </pre>
  ) : (
    <InlineNodes key={index} nodes={block.children} />
  );
}

function InlineNodes({ nodes }: { nodes: Inline[] }) {
  return nodes.map(renderInline);
}

function renderInline(node: Inline, index: number): ReactNode {
  switch (node.kind) {
    case 'text':
      return node.text;
    case 'bold':
      return (
        <strong key={index}>
          <InlineNodes nodes={node.children} />
        </strong>
      );
    case 'italic':
      return (
        <em key={index}>
          <InlineNodes nodes={node.children} />
        </em>
      );
    case 'code':
      return <code key={index}>{node.text}</code>;
    case 'link':
      return (
        <a key={index} href={node.href} title={node.href} target="_blank" rel="noopener noreferrer nofollow">
          {node.text}
        </a>
      );
    case 'mention':
      return (
        <span key={index} className={`mention${node.me ? ' me' : ''}`}>
          {node.text}
        </span>
      );
  }
}
