import { describe, expect, it } from 'vitest';
import { SseParser } from '../src/sse-parser.js';

describe('SseParser', () => {
  it('parses events split anywhere across chunks, with any line ending', () => {
    const text =
      ': stream\n\nid: 1\ndata: {"a":1}\n\nid: 2\r\ndata: line one\r\ndata: line two\r\n\r\nevent: close\rdata: {"code":4001}\r\r\n';
    for (let size = 1; size <= text.length; size++) {
      const parser = new SseParser();
      const events = [];
      for (let at = 0; at < text.length; at += size) events.push(...parser.push(text.slice(at, at + size)));
      expect(events, `chunks of ${size}`).toEqual([
        { id: '1', data: '{"a":1}' },
        { id: '2', data: 'line one\nline two' },
        { event: 'close', id: '2', data: '{"code":4001}' },
      ]);
    }
  });

  it('skips comments and events without data, keeps one leading space of a value only', () => {
    const parser = new SseParser();
    expect(parser.push(': keepalive\n\nevent: nothing\n\ndata:  two spaces\ndata\n\n')).toEqual([
      { data: ' two spaces\n' },
    ]);
  });
});
