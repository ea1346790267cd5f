/** The part of a net.Socket that batching needs. */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * Coalesces socket writes per event-loop turn: the first frame written to a socket in a turn corks
 * it, and every corked socket is uncorked once, after the turn's I/O callbacks. All the frames a
 * socket got in that turn (acks and events of a whole group commit) then leave in one writev
 * instead of one system call each, which the server's CPU profile showed as its largest cost.
 */
export class WriteBatcher {
  private readonly corked = new Set<Corkable>();
  private scheduled = false;

  /** Corks the socket unless it already is this turn; true when this call corked it. */
  corkForTurn(socket: Corkable): boolean {
    if (this.corked.has(socket)) return false;
    socket.cork();
    this.corked.add(socket);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return true;
  }

  private flush(): void {
    this.scheduled = false;
    for (const socket of this.corked) socket.uncork();
    this.corked.clear();
  }
}
