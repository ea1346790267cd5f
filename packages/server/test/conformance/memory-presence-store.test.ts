import { MemoryPresenceStore } from '../../src/presence/memory-presence-store.js';
import { describePresenceStoreConformance } from './presence-store.conformance.js';

const TTL_MS = 200;

describePresenceStoreConformance(
  'in-memory',
  async () => {
    const store = new MemoryPresenceStore(TTL_MS);
    return {
      store,
      ttlMs: TTL_MS,
      // MemoryPresenceStore sweeps every ttl/4, clamped to [25, 1000] ms.
      sweepIntervalMs: Math.max(25, Math.min(1000, TTL_MS / 4)),
      close: () => store.close(),
    };
  },
  { cluster: false },
);
