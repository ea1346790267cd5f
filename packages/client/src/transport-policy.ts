/** How the client reaches the server: a WebSocket, or the HTTP fallback (protocol §2.1). */
export type Transport = 'websocket' | 'sse' | 'long-poll';

export const ALL_TRANSPORTS: readonly Transport[] = ['websocket', 'sse', 'long-poll'];

/** Consecutive attempts that never opened before the next transport is tried. */
const FAILURES_BEFORE_NEXT: Record<Transport, number> = { websocket: 3, sse: 2, 'long-poll': 2 };

/**
 * Which transport the next connection attempt uses. It starts with the first allowed one and moves
 * down the list after attempts that failed to open: three WebSocket upgrades (a network that blocks
 * WebSockets), two event streams whose first byte never came (a proxy that buffers responses).
 * An HTTP transport that could not reach the server at all says nothing about WebSockets (the
 * server or the network is down): the policy goes back to the first transport. A failure after a
 * connection opened is an ordinary drop and moves nothing. While on a fallback, the first
 * transport is tried again once `retryFirstMs` has passed, and kept if it opens.
 */
export class TransportPolicy {
  private index = 0;
  private failures = 0;
  private onFallbackSince: number | undefined;
  /** True while an attempt is a probe of the first transport from a fallback. */
  private probing = false;
  /** A probe just failed: the next attempt uses the fallback, whatever the interval. */
  private probeFailed = false;
  /** A background probe opened the first transport: the next attempt uses it. */
  private firstNext = false;

  constructor(
    private readonly order: readonly Transport[],
    readonly retryFirstMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (order.length === 0) throw new Error('At least one transport is needed.');
  }

  /** The transport tried first, and come back to. */
  get first(): Transport {
    return this.order[0]!;
  }

  /** A background probe of the first transport opened: the next attempt is a probe of it. */
  probeFirstNext(): void {
    this.firstNext = true;
  }

  /** The transport the next attempt uses. */
  next(): Transport {
    const since = this.onFallbackSince;
    this.probing =
      this.index > 0 &&
      (this.firstNext ||
        (!this.probeFailed && since !== undefined && this.now() - since >= this.retryFirstMs));
    this.probeFailed = false;
    this.firstNext = false;
    return this.order[this.probing ? 0 : this.index]!;
  }

  /** The attempt with this transport opened. */
  opened(transport: Transport): void {
    this.failures = 0;
    if (transport === this.order[0]) {
      this.index = 0;
      this.onFallbackSince = undefined;
    } else {
      this.onFallbackSince ??= this.now();
    }
    this.probing = false;
  }

  /**
   * The attempt with this transport closed before it opened; `reachedServer`: an HTTP transport
   * got the server's answer to opening its stream (only its event stream failed). True when the
   * attempt was a probe of the first transport: the fallback may be used again at once, with no
   * backoff (the probe was a guess, not a sign that the server is struggling).
   */
  failed(transport: Transport, reachedServer: boolean): boolean {
    if (this.probing) {
      // The first transport is still blocked: stay on the fallback, and probe again later.
      this.probing = false;
      this.probeFailed = true;
      this.onFallbackSince = this.now();
      return true;
    }
    if (transport !== this.order[this.index]) return false;
    if (this.index > 0 && !reachedServer) {
      this.index = 0;
      this.failures = 0;
      this.onFallbackSince = undefined;
      return false;
    }
    this.failures += 1;
    if (this.failures >= FAILURES_BEFORE_NEXT[transport]) {
      this.index = (this.index + 1) % this.order.length;
      this.failures = 0;
    }
    return false;
  }
}
