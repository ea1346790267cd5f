/**
 * The little of a WebSocket the gateway needs, so that the connection logic never depends on the
 * `ws` package itself (the shape of hono's WSContext).
 */
export interface Socket {
  readonly readyState: number;
  /** Bytes queued for the peer and not yet handed to the kernel. */
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code: number, reason: string): void;
  terminate(): void;
}

export const OPEN = 1;

/** A received frame's payload, as the WebSocket library hands it over (or text, from HTTP). */
export type FrameData = Buffer | ArrayBuffer | Buffer[] | string;

/** What a transport tells the gateway about one client connection it accepted. */
export interface Inbound {
  /** One client frame (a WebSocket message, or one line of an HTTP POST). */
  message(data: FrameData, isBinary: boolean): void;
  /** The connection is gone (the peer closed it, or the server's close completed). */
  closed(): void;
}
