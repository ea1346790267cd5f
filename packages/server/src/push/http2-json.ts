import { type ClientHttp2Session, connect, type SecureClientSessionOptions } from 'node:http2';

export interface Http2Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const REQUEST_TIMEOUT_MS = 15_000;

/**
 * One HTTP/2 session per origin, reopened when it closes: FCM and APNs both want their clients to
 * keep a connection open rather than handshake per push. Rejects on network failure or timeout.
 */
export class Http2Origins {
  private readonly sessions = new Map<string, ClientHttp2Session>();

  constructor(private readonly tls: SecureClientSessionOptions = {}) {}

  request(url: string, method: string, headers: Record<string, string>, body: string): Promise<Http2Answer> {
    const { origin, pathname, search } = new URL(url);
    const session = this.sessionFor(origin);
    return new Promise((resolve, reject) => {
      const stream = session.request({ ':method': method, ':path': pathname + search, ...headers });
      stream.setTimeout(REQUEST_TIMEOUT_MS, () => stream.close());
      let status = 0;
      let answerHeaders: Http2Answer['headers'] = {};
      const chunks: Buffer[] = [];
      stream.on('response', (h) => {
        status = Number(h[':status']);
        answerHeaders = h;
      });
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () =>
        resolve({ status, headers: answerHeaders, body: Buffer.concat(chunks).toString('utf8') }),
      );
      stream.on('error', reject);
      stream.on('close', () => {
        if (status === 0) reject(new Error(`no answer from ${origin}`));
      });
      stream.end(body);
    });
  }

  close(): void {
    for (const session of this.sessions.values()) session.close();
    this.sessions.clear();
  }

  private sessionFor(origin: string): ClientHttp2Session {
    const open = this.sessions.get(origin);
    if (open && !open.closed && !open.destroyed) return open;
    const session = connect(origin, this.tls);
    session.on('error', () => this.sessions.delete(origin));
    session.on('close', () => this.sessions.delete(origin));
    session.unref();
    this.sessions.set(origin, session);
    return session;
  }
}
