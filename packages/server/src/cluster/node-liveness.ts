/**
 * Which nodes are alive: each node beats, and is live until `ttlMs` passes without a beat. Contract:
 * - `beat(nodeId)` makes the node live for `ttlMs` from now (on the backend's clock); `leave`
 *   removes it at once (a clean shutdown). Each is atomic.
 * - `liveNodes` lists the live nodes, sorted; a node never seen, left or expired is not listed.
 * - Every method rejects with a retryable `unavailable` when the backend cannot be reached; the
 *   caller (one timer per node) logs it and the next beat repairs it.
 */
export interface NodeLiveness {
  beat(nodeId: string): Promise<void>;
  leave(nodeId: string): Promise<void>;
  liveNodes(): Promise<string[]>;
}
