import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectionRegistry } from '../../src/cluster/connection-registry.js';

/**
 * The ConnectionRegistry port contract, run against every adapter. Several nodes share one backend
 * here, each with its own registry instance; a node "dies" by no longer refreshing.
 */
export interface RegistryHandle {
  ttlMs: number;
  /** A registry speaking for nodeId on this handle's backend (fresh per test); the suite closes it. */
  openNode(nodeId: string): Promise<ConnectionRegistry>;
  close(): Promise<void>;
}

/** Timer slack on top of the TTL (a loaded CI machine is late, never early). */
const TIMER_SLACK_MS = 150;

function uid(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 12)}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function describeRegistryConformance(name: string, open: () => Promise<RegistryHandle>): void {
  describe(`ConnectionRegistry conformance: ${name}`, () => {
    let handle: RegistryHandle;
    let nodes: ConnectionRegistry[];

    const openNode = async (nodeId: string) => {
      const registry = await handle.openNode(nodeId);
      nodes.push(registry);
      return registry;
    };

    beforeEach(async () => {
      handle = await open();
      nodes = [];
    });

    afterEach(async () => {
      await Promise.all(nodes.map((n) => n.close()));
      await handle.close();
    });

    it('leaves users with no entry out of the answer', async () => {
      const a = await openNode('node-a');
      expect(await a.nodesOf([uid('nobody'), uid('nobody')])).toEqual(new Map());
      expect(await a.nodesOf([])).toEqual(new Map());
    });

    it('lists every node holding a user, sorted, whichever node asks', async () => {
      const [a, b, c] = [await openNode('node-a'), await openNode('node-b'), await openNode('node-c')];
      const [u, v] = [uid('u'), uid('v')];
      await c.add(u);
      await a.add(u);
      await a.add(u);
      await b.add(v);
      const expected = new Map([
        [u, ['node-a', 'node-c']],
        [v, ['node-b']],
      ]);
      expect(await a.nodesOf([u, v, u])).toEqual(expected);
      expect(await b.nodesOf(new Set([u, v]))).toEqual(expected);
    });

    it('removes only the removing node, idempotently', async () => {
      const [a, b] = [await openNode('node-a'), await openNode('node-b')];
      const u = uid('u');
      await a.add(u);
      await b.add(u);
      await a.remove(u);
      await a.remove(u);
      await a.remove(uid('never-added'));
      expect(await b.nodesOf([u])).toEqual(new Map([[u, ['node-b']]]));
      await b.remove(u);
      expect(await a.nodesOf([u])).toEqual(new Map());
      // Added again after a removal: back.
      await a.add(u);
      expect(await b.nodesOf([u])).toEqual(new Map([[u, ['node-a']]]));
    });

    it('expires the entries of a node that stops refreshing, and keeps those of one that refreshes', async () => {
      const { ttlMs } = handle;
      const [alive, dead] = [await openNode('node-alive'), await openNode('node-dead')];
      const [shared, onlyDead] = [uid('shared'), uid('only-dead')];
      await alive.add(shared);
      await dead.add(shared);
      await dead.add(onlyDead);

      const until = Date.now() + ttlMs * 2;
      while (Date.now() < until) {
        await alive.refresh();
        await sleep(Math.max(5, Math.floor(ttlMs / 4)));
      }
      expect(await alive.nodesOf([shared, onlyDead])).toEqual(new Map([[shared, ['node-alive']]]));

      // Once the last node stops refreshing, the user is gone within the TTL.
      await sleep(ttlMs + TIMER_SLACK_MS);
      expect(await dead.nodesOf([shared, onlyDead])).toEqual(new Map());
    });

    it("expires one node's entry on time while another node keeps the same user", async () => {
      const { ttlMs } = handle;
      const [early, late] = [await openNode('node-early'), await openNode('node-late')];
      const u = uid('u');
      await early.add(u);
      const earlyAt = Date.now();
      await sleep(Math.floor(ttlMs * 0.75));
      await late.add(u);
      const lateAt = Date.now();
      await sleep(Math.max(0, earlyAt + ttlMs + 20 - Date.now()));
      const found = await late.nodesOf([u]);
      const checkedAt = Date.now();
      expect(found.get(u) ?? []).not.toContain('node-early');
      // A late timer may have let the later entry expire too; if not, it must still be there.
      if (checkedAt - lateAt < ttlMs - 20) expect(found.get(u)).toEqual(['node-late']);
    });

    it('holds a fresh entry for a full TTL after the last add or refresh', async () => {
      const { ttlMs } = handle;
      const a = await openNode('node-a');
      const u = uid('u');
      await a.add(u);
      await sleep(Math.floor(ttlMs / 2));
      await a.refresh();
      await sleep(Math.floor(ttlMs * 0.75));
      // Past one TTL since the add, within one since the refresh.
      expect(await a.nodesOf([u])).toEqual(new Map([[u, ['node-a']]]));
    });

    it('does not bring back a removed user on refresh', async () => {
      const a = await openNode('node-a');
      const [kept, removed] = [uid('kept'), uid('removed')];
      await a.add(kept);
      await a.add(removed);
      await a.remove(removed);
      await a.refresh();
      expect(await a.nodesOf([kept, removed])).toEqual(new Map([[kept, ['node-a']]]));
    });

    it('answers for many users at once', async () => {
      const [a, b] = [await openNode('node-a'), await openNode('node-b')];
      const users = Array.from({ length: 1_200 }, (_, i) => uid(`many${i}`));
      await Promise.all(users.map((u, i) => (i % 3 === 0 ? a.add(u) : i % 3 === 1 ? b.add(u) : undefined)));
      await a.refresh();
      const found = await b.nodesOf(users);
      expect(found.size).toBe(800);
      users.forEach((u, i) => {
        expect(found.get(u)).toEqual(i % 3 === 0 ? ['node-a'] : i % 3 === 1 ? ['node-b'] : undefined);
      });
    });
  });
}
