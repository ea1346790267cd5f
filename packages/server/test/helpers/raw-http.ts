import { request } from 'node:http';
import { connect, type Socket } from 'node:net';

/**
 * A plain TCP connection to the server, for what fetch cannot do: requests sent slowly, in parts or
 * malformed, and connections from a chosen local address (any of 127/8 reaches a loopback server).
 */
export class RawConnection {
  /** Everything the server sent, as text. */
  received = '';
  /** Resolves when the socket has closed, for whatever reason. */
  readonly closed: Promise<void>;
  private isClosed = false;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.received += chunk;
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        resolve();
      }),
    );
  }

  /** `halfOpen`: stay open for writing after the server has ended its side, as a hostile client may. */
  static open(
    port: number,
    options: { localAddress?: string; halfOpen?: boolean } = {},
  ): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({
        port,
        host: '127.0.0.1',
        localAddress: options.localAddress ?? '127.0.0.1',
        allowHalfOpen: options.halfOpen ?? false,
      });
      socket.once('connect', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  get open(): boolean {
    return !this.isClosed;
  }

  write(text: string): void {
    if (!this.isClosed) this.socket.write(text);
  }

  /** Writes `text` one character every `intervalMs` until it is all sent or the socket closes. */
  async drip(text: string, intervalMs: number): Promise<void> {
    for (const char of text) {
      if (this.isClosed) return;
      this.write(char);
      await Promise.race([this.closed, new Promise((resolve) => setTimeout(resolve, intervalMs))]);
    }
  }

  /** True when the socket closed within `ms`. */
  async closesWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const result = await Promise.race([this.closed.then(() => true as const), timedOut]);
    clearTimeout(timer);
    return result;
  }

  /** Waits until the server has sent `marker` (or the socket closed). */
  async waitFor(marker: string, ms = 5_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.received.includes(marker) && !this.isClosed && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** The status line and the JSON body of a raw HTTP answer. */
export function parseRawAnswer(text: string): { status: number; body: unknown } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  return { status, body: body.length > 0 ? JSON.parse(body) : undefined };
}

/** A JSON HTTP call from `localAddress` (another client address on the loopback). */
export function apiFrom(
  localAddress: string,
  port: number,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: unknown; headers: Record<string, string | string[] | undefined> }> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        localAddress,
        agent: false,
        headers: {
          ...options.headers,
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: text.length > 0 ? JSON.parse(text) : undefined,
            headers: res.headers,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
