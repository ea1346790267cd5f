import type { ServerFrame } from '@natter/protocol';

export type StreamMode = 'sse' | 'poll';

export interface StreamClose {
  code: number;
  reason: string;
}

/**
 * A raw client of the HTTP fallback transport, written from docs/protocol.md §2.1: it opens a
 * stream, posts NDJSON frames, and reads the server's frames by SSE (fetch streaming) or by long
 * polls, acknowledging with `after`. It records every frame with its number.
 */
export class StreamClient {
  readonly frames: Array<{ id: number; frame: ServerFrame }> = [];
  closeInfo: StreamClose | null = null;
  last = 0;
  private reader: AbortController | null = null;
  private stopped = false;

  private constructor(
    readonly baseUrl: string,
    readonly streamId: string,
    readonly mode: StreamMode,
  ) {}

  static async open(baseUrl: string, mode: StreamMode, headers: Record<string, string> = {}) {
    const res = await fetch(`${baseUrl}/v1/stream`, { method: 'POST', headers });
    if (res.status !== 201) throw new Error(`open: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { stream_id: string };
    const client = new StreamClient(baseUrl, body.stream_id, mode);
    client.read();
    return client;
  }

  /** Posts frames (objects, or raw lines) as one NDJSON body; resolves with the HTTP status. */
  async post(...frames: Array<object | string>): Promise<number> {
    const body = frames.map((f) => (typeof f === 'string' ? f : JSON.stringify(f))).join('\n');
    const res = await fetch(`${this.baseUrl}/v1/stream/${this.streamId}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body,
    });
    await res.arrayBuffer();
    return res.status;
  }

  async waitFor(predicate: (frame: ServerFrame) => boolean, timeoutMs = 5_000): Promise<ServerFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find((f) => predicate(f.frame));
      if (found) return found.frame;
      if (Date.now() > deadline)
        throw new Error(`no such frame; got ${JSON.stringify(this.frames.map((f) => f.frame.type))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async waitClosed(timeoutMs = 5_000): Promise<StreamClose> {
    const deadline = Date.now() + timeoutMs;
    while (this.closeInfo === null) {
      if (Date.now() > deadline) throw new Error('stream not closed');
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.closeInfo;
  }

  /** Cuts the current response (as a proxy would) and reads again from the last frame seen. */
  cut(): void {
    this.reader?.abort();
  }

  stop(): void {
    this.stopped = true;
    this.reader?.abort();
  }

  private async read(): Promise<void> {
    while (!this.stopped && this.closeInfo === null) {
      this.reader = new AbortController();
      try {
        if (this.mode === 'poll') await this.pollOnce(this.reader.signal);
        else await this.sseOnce(this.reader.signal);
      } catch (error) {
        if ((error as Error).name !== 'AbortError') throw error;
      }
    }
  }

  private accept(id: number, text: string): void {
    if (id <= this.last) return;
    this.last = id;
    this.frames.push({ id, frame: JSON.parse(text) as ServerFrame });
  }

  private async pollOnce(signal: AbortSignal): Promise<void> {
    const res = await fetch(`${this.baseUrl}/v1/stream/${this.streamId}/poll?after=${this.last}`, { signal });
    if (res.status === 404) {
      this.closeInfo = { code: 404, reason: 'unknown stream' };
      return;
    }
    const body = (await res.json()) as { frames: unknown[]; last: number; close?: StreamClose };
    const first = body.last - body.frames.length + 1;
    for (const [i, frame] of body.frames.entries()) this.accept(first + i, JSON.stringify(frame));
    if (body.close) this.closeInfo = body.close;
  }

  private async sseOnce(signal: AbortSignal): Promise<void> {
    const res = await fetch(`${this.baseUrl}/v1/stream/${this.streamId}/events`, {
      headers: { accept: 'text/event-stream', 'last-event-id': String(this.last) },
      signal,
    });
    if (res.status === 404 || !res.body) {
      this.closeInfo = { code: 404, reason: 'unknown stream' };
      return;
    }
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields = { id: '', event: '', data: '' };
        for (const line of block.split('\n')) {
          const colon = line.indexOf(':');
          if (colon <= 0) continue;
          const name = line.slice(0, colon) as keyof typeof fields;
          if (name in fields) fields[name] = line.slice(colon + 1).trimStart();
        }
        if (fields.event === 'close') this.closeInfo = JSON.parse(fields.data) as StreamClose;
        else if (fields.data !== '') this.accept(Number(fields.id), fields.data);
        end = buffer.indexOf('\n\n');
      }
    }
  }
}
