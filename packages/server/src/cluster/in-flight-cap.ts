/**
 * Caps the calls awaiting an answer from a backend, by count and by the bytes they hold. Past
 * either cap a call is not made at all and the caller drops its message: a Redis that is stuck but
 * still connected must not make every frame add one more pending command (and the frame it
 * carries) to memory.
 */
export class InFlightCap {
  private calls = 0;
  private bytes = 0;

  constructor(
    private readonly maxCalls: number,
    private readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {}

  /** Makes the call if under both caps (`bytes`: what it holds until answered); `undefined`: not made. */
  tryCall<T>(call: () => Promise<T>, bytes = 0): Promise<T> | undefined {
    if (this.calls >= this.maxCalls || this.bytes + bytes > this.maxBytes) return undefined;
    this.calls += 1;
    this.bytes += bytes;
    return call().finally(() => {
      this.calls -= 1;
      this.bytes -= bytes;
    });
  }
}

/** Calls awaiting an answer: generous for a busy node (a lost one costs clients a sync, not a message). */
export const DEFAULT_MAX_IN_FLIGHT = 10_000;

/** Frame bytes held by calls awaiting an answer: what a stuck Redis may cost a node in memory. */
export const DEFAULT_MAX_IN_FLIGHT_BYTES = 16 * 1024 * 1024;
