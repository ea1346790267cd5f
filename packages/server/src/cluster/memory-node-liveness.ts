import type { NodeLiveness } from './node-liveness.js';

/** The in-process NodeLiveness: one instance serves every node of the process. */
export class MemoryNodeLiveness implements NodeLiveness {
  /** node -> when it expires (ms since the epoch). */
  private readonly nodes = new Map<string, number>();

  constructor(private readonly ttlMs: number) {}

  async beat(nodeId: string): Promise<void> {
    this.nodes.set(nodeId, Date.now() + this.ttlMs);
  }

  async leave(nodeId: string): Promise<void> {
    this.nodes.delete(nodeId);
  }

  async liveNodes(): Promise<string[]> {
    const now = Date.now();
    for (const [node, expiresAt] of this.nodes) if (expiresAt <= now) this.nodes.delete(node);
    return [...this.nodes.keys()].sort();
  }
}
