/** One Server-Sent Event: its `event` name (absent: a message), `id`, and `data` lines joined. */
export interface SseEvent {
  event?: string;
  id?: string;
  data: string;
}

/**
 * An incremental parser of the `text/event-stream` format (the HTML standard's "Parsing an event
 * stream"): feed it chunks as they arrive, get the events they complete. Lines end with LF, CR or
 * CRLF; comment lines (`:`) are skipped; several `data` lines join with LF; an event without
 * `data` is not dispatched. Retry hints are ignored (the caller decides when to reconnect).
 */
export class SseParser {
  private buffer = '';
  private event: string | undefined;
  private id: string | undefined;
  private data: string[] = [];

  push(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const events: SseEvent[] = [];
    for (;;) {
      const end = this.buffer.search(/\r\n|\r|\n/);
      // A lone CR at the end may be the first half of a CRLF: wait for the next chunk.
      if (end < 0 || (this.buffer[end] === '\r' && end === this.buffer.length - 1)) break;
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + (this.buffer.startsWith('\r\n', end) ? 2 : 1));
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    const { event, id, data } = this;
    this.event = undefined;
    this.data = [];
    if (data.length === 0) return undefined;
    return {
      ...(event === undefined ? {} : { event }),
      ...(id === undefined ? {} : { id }),
      data: data.join('\n'),
    };
  }
}
