import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NodeLiveness } from '../../src/cluster/node-liveness.js';

/** The NodeLiveness port contract, run against every adapter. */
export interface LivenessHandle {
  /** On a backend no other test uses. */
  liveness: NodeLiveness;
  ttlMs: number;
  close(): Promise<void>;
}

/** Timer slack on top of the TTL (a loaded CI machine is late, never early). */
const TIMER_SLACK_MS = 150;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function describeLivenessConformance(name: string, open: () => Promise<LivenessHandle>): void {
  describe(`NodeLiveness conformance: ${name}`, () => {
    let handle: LivenessHandle;
    let liveness: NodeLiveness;

    beforeEach(async () => {
      handle = await open();
      liveness = handle.liveness;
    });

    afterEach(async () => {
      await handle.close();
    });

    it('lists the nodes that beat, sorted, and forgets one that leaves', async () => {
      expect(await liveness.liveNodes()).toEqual([]);
      await liveness.beat('node-b');
      await liveness.beat('node-a');
      await liveness.beat('node-b');
      expect(await liveness.liveNodes()).toEqual(['node-a', 'node-b']);
      await liveness.leave('node-b');
      await liveness.leave('node-never-seen');
      expect(await liveness.liveNodes()).toEqual(['node-a']);
    });

    it('drops a node that stops beating after the TTL, and keeps one that beats', async () => {
      const { ttlMs } = handle;
      await liveness.beat('node-dead');
      const until = Date.now() + ttlMs + TIMER_SLACK_MS;
      while (Date.now() < until) {
        await liveness.beat('node-alive');
        await sleep(Math.max(5, Math.floor(ttlMs / 4)));
      }
      expect(await liveness.liveNodes()).toEqual(['node-alive']);

      // A dead node that comes back is live again.
      await liveness.beat('node-dead');
      expect(await liveness.liveNodes()).toEqual(['node-alive', 'node-dead']);
    });

    it('keeps a node live for the TTL after its last beat', async () => {
      await liveness.beat('node-a');
      await sleep(Math.floor(handle.ttlMs / 2));
      expect(await liveness.liveNodes()).toEqual(['node-a']);
    });
  });
}
