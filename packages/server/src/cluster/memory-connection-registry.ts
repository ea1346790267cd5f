import type { ConnectionRegistry } from './connection-registry.js';

/** What every in-process node shares: the part the Redis server plays for the Redis adapter. */
export class RegistrySpace {
  /** user -> node -> when the entry expires (ms since the epoch). */
  readonly entries = new Map<string, Map<string, number>>();

  constructor(readonly ttlMs: number) {}
}

/** The in-process ConnectionRegistry: nodes in one process (tests, a single node) share a space. */
export class MemoryConnectionRegistry implements ConnectionRegistry {
  /** What this node holds, so that `refresh` can re-arm it. */
  private readonly held = new Set<string>();

  constructor(
    private readonly nodeId: string,
    private readonly space: RegistrySpace,
  ) {}

  async add(userId: string): Promise<void> {
    this.held.add(userId);
    this.arm(userId, Date.now() + this.space.ttlMs);
  }

  async remove(userId: string): Promise<void> {
    this.held.delete(userId);
    const nodes = this.space.entries.get(userId);
    nodes?.delete(this.nodeId);
    if (nodes?.size === 0) this.space.entries.delete(userId);
  }

  async refresh(): Promise<void> {
    const expiresAt = Date.now() + this.space.ttlMs;
    for (const userId of this.held) this.arm(userId, expiresAt);
  }

  async nodesOf(userIds: Iterable<string>): Promise<Map<string, string[]>> {
    const now = Date.now();
    const found = new Map<string, string[]>();
    for (const userId of userIds) {
      const nodes = this.space.entries.get(userId);
      if (!nodes) continue;
      // Expired entries (a node that stopped refreshing) are forgotten as they are met.
      for (const [node, expiresAt] of nodes) if (expiresAt <= now) nodes.delete(node);
      if (nodes.size === 0) this.space.entries.delete(userId);
      else found.set(userId, [...nodes.keys()].sort());
    }
    return found;
  }

  /** Stops speaking for this node; its entries expire like those of a node that died. */
  async close(): Promise<void> {
    this.held.clear();
  }

  private arm(userId: string, expiresAt: number): void {
    const nodes = this.space.entries.get(userId);
    if (nodes) nodes.set(this.nodeId, expiresAt);
    else this.space.entries.set(userId, new Map([[this.nodeId, expiresAt]]));
  }
}
