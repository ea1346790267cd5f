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

/** A received frame's payload, as the WebSocket library hands it over. */
export type FrameData = Buffer | ArrayBuffer | Buffer[];
