/**
 * Which nodes hold connections of a user: user -> set of node ids. One instance per node, speaking
 * for that node only. Contract:
 * - An entry (user, node) expires `ttlMs` after it was last added or refreshed, so a node that dies
 *   without cleaning up vanishes from every lookup within the TTL. `refresh` re-arms every entry
 *   this node holds; call it with the node's heartbeat, well within the TTL.
 * - `add`, `remove` and `refresh` are each atomic per user and never reject: a write the backend
 *   could not take is logged and counted, and the next `refresh` repairs it (it re-adds what this
 *   node holds). Callers may fire and forget them. `add` and `remove` are idempotent.
 * - `nodesOf` returns, for each user with at least one live entry, its nodes (this one included),
 *   sorted; users with none are absent from the map. It rejects with a retryable `unavailable`
 *   when the backend cannot be reached.
 */
export interface ConnectionRegistry {
  add(userId: string): Promise<void>;
  remove(userId: string): Promise<void>;
  refresh(): Promise<void>;
  nodesOf(userIds: Iterable<string>): Promise<Map<string, string[]>>;
  close(): Promise<void>;
}
