/**
 * Caps the calls awaiting an answer from a backend. Past the cap a call is not made at all and the
 * caller drops its message: a Redis that is stuck but still connected must not make every frame
 * add one more pending command (and the frame it carries) to memory.
 */
export class InFlightCap {
  private inFlight = 0;

  constructor(private readonly max: number) {}

  /** Makes the call if under the cap; `undefined` means it was not made. */
  tryCall<T>(call: () => Promise<T>): Promise<T> | undefined {
    if (this.inFlight >= this.max) return undefined;
    this.inFlight += 1;
    return call().finally(() => {
      this.inFlight -= 1;
    });
  }
}

/** A cap generous for a busy node yet small next to its memory (each call holds a frame at most). */
export const DEFAULT_MAX_IN_FLIGHT = 10_000;
