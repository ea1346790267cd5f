import { BusSpace, MemoryClusterBus } from '../../src/cluster/memory-cluster-bus.js';
import { MemoryConnectionRegistry, RegistrySpace } from '../../src/cluster/memory-connection-registry.js';
import { MemoryNodeLiveness } from '../../src/cluster/memory-node-liveness.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics.js';
import { describeBusConformance } from './bus.conformance.js';
import { describeLivenessConformance } from './liveness.conformance.js';
import { describeRegistryConformance } from './registry.conformance.js';

const TTL_MS = 200;

describeRegistryConformance('in-process', async () => {
  const space = new RegistrySpace(TTL_MS);
  return {
    ttlMs: TTL_MS,
    openNode: async (nodeId) => new MemoryConnectionRegistry(nodeId, space),
    close: async () => {},
  };
});

describeLivenessConformance('in-process', async () => ({
  liveness: new MemoryNodeLiveness(TTL_MS),
  ttlMs: TTL_MS,
  close: async () => {},
}));

describeBusConformance('in-process', async () => {
  const space = new BusSpace();
  return {
    openNode: async () => {
      const metrics = new Metrics();
      return { bus: new MemoryClusterBus(space, metrics, createLogger('silent')), metrics };
    },
    close: async () => {},
  };
});
