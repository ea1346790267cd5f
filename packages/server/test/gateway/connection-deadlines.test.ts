import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_TIMER_MS } from '../../src/clock.js';
import { ConnectionDeadlines, type HasDeadline } from '../../src/gateway/connection-deadlines.js';
import { ManualClock } from '../helpers/manual-clock.js';

interface Entry extends HasDeadline {
  name: string;
}

const entry = (name: string): Entry => ({ name, deadline: 0, deadlineSlot: -1 });

/** A schedule on a manual clock that records what fell due, and when. */
function schedule(start = 1_000_000) {
  const clock = new ManualClock(start);
  const fired: Array<{ name: string; at: number }> = [];
  const deadlines = new ConnectionDeadlines<Entry>(clock, (e) =>
    fired.push({ name: e.name, at: clock.now() }),
  );
  return { clock, fired, deadlines };
}

describe('ConnectionDeadlines', () => {
  it('fires each entry at its own deadline, not before, on one timer', async () => {
    const { clock, fired, deadlines } = schedule();
    const t0 = clock.now();
    deadlines.set(entry('late'), t0 + 300);
    deadlines.set(entry('early'), t0 + 100);
    deadlines.set(entry('middle'), t0 + 200);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(99);
    expect(fired).toEqual([]);
    await clock.advance(1);
    expect(fired).toEqual([{ name: 'early', at: t0 + 100 }]);
    await clock.advance(200);
    expect(fired.map((f) => [f.name, f.at - t0])).toEqual([
      ['early', 100],
      ['middle', 200],
      ['late', 300],
    ]);
    expect(deadlines.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a cleared entry never fires and is no longer held; set moves an entry', async () => {
    const { clock, fired, deadlines } = schedule();
    const t0 = clock.now();
    const a = entry('a');
    const b = entry('b');
    deadlines.set(a, t0 + 100);
    deadlines.set(b, t0 + 150);
    deadlines.clear(a);
    deadlines.clear(a);
    expect(a.deadlineSlot).toBe(-1);
    expect(deadlines.size).toBe(1);
    deadlines.set(b, t0 + 50);
    expect(deadlines.size).toBe(1);
    await clock.advance(200);
    expect(fired).toEqual([{ name: 'b', at: t0 + 50 }]);
  });

  it('a deadline already past fires on the next turn of the clock, not inside set', async () => {
    const { clock, fired, deadlines } = schedule();
    deadlines.set(entry('past'), clock.now() - 5_000);
    expect(fired).toEqual([]);
    await clock.advance(0);
    expect(fired.map((f) => f.name)).toEqual(['past']);
  });

  it('a deadline beyond the longest timer is reached through re-armed timers', async () => {
    const { clock, fired, deadlines } = schedule();
    const at = clock.now() + MAX_TIMER_MS + 10_000;
    deadlines.set(entry('far'), at);
    await clock.advance(MAX_TIMER_MS);
    expect(fired).toEqual([]);
    await clock.advance(10_000);
    expect(fired).toEqual([{ name: 'far', at }]);
  });

  it('fires exactly the entries not cleared, each at its deadline, in deadline order (any interleaving)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ delay: fc.integer({ min: 0, max: 1000 }), cleared: fc.boolean() }), {
          minLength: 1,
          maxLength: 40,
        }),
        async (plan) => {
          const { clock, fired, deadlines } = schedule();
          const t0 = clock.now();
          const entries = plan.map((p, i) => ({ ...p, e: entry(String(i)) }));
          for (const { e, delay } of entries) deadlines.set(e, t0 + delay);
          for (const { e, cleared } of entries) if (cleared) deadlines.clear(e);
          await clock.advance(1001);
          const expected = entries
            .filter((x) => !x.cleared)
            .map((x) => ({ name: x.e.name, at: t0 + x.delay }))
            .sort((x, y) => x.at - y.at);
          expect(fired.map((f) => f.at)).toEqual(expected.map((x) => x.at));
          expect(new Set(fired.map((f) => f.name))).toEqual(new Set(expected.map((x) => x.name)));
          for (const f of fired) expect(f.at).toBe(expected.find((x) => x.name === f.name)?.at);
          expect(deadlines.size).toBe(0);
        },
      ),
      { numRuns: 100, seed: 12 },
    );
  });
});
