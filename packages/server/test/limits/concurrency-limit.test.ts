import { NatterError } from '@natter/protocol';
import { describe, expect, it } from 'vitest';
import { ConcurrencyLimit } from '../../src/limits/concurrency-limit.js';

/** Tasks that finish when the test says so, recording the order they started in. */
function controlledTasks() {
  const started: string[] = [];
  const finishers = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  return {
    started,
    task(name: string) {
      return () => {
        started.push(name);
        return new Promise<string>((resolve, reject) => {
          finishers.set(name, { resolve: () => resolve(name), reject });
        });
      };
    },
    finish(name: string) {
      finishers.get(name)?.resolve();
    },
    fail(name: string) {
      finishers.get(name)?.reject(new Error(`${name} failed`));
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** What a call came to once pending work has had its turn: its value, its error, or 'pending'. */
function outcome(promise: Promise<unknown>): Promise<unknown> {
  return Promise.race([promise.catch((e: unknown) => e), settle().then(() => 'pending')]);
}

describe('ConcurrencyLimit', () => {
  it('runs up to maxRunning at once, queues up to maxQueued, and starts the queue in order', async () => {
    const limit = new ConcurrencyLimit(2, 2, { expectedTaskMs: 50 });
    const t = controlledTasks();
    const results = ['a', 'b', 'c', 'd'].map((name) => limit.run(t.task(name)));
    await settle();
    expect(t.started).toEqual(['a', 'b']);
    t.finish('b');
    await settle();
    expect(t.started).toEqual(['a', 'b', 'c']);
    t.finish('a');
    await settle();
    expect(t.started).toEqual(['a', 'b', 'c', 'd']);
    t.finish('c');
    t.finish('d');
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('refuses past the queue with rate_limited and the time the admitted work takes', async () => {
    let clock = 0;
    const limit = new ConcurrencyLimit(2, 1, { expectedTaskMs: 100, now: () => clock });
    const t = controlledTasks();
    const admitted = ['a', 'b', 'c'].map((name) => limit.run(t.task(name)));
    const refused = await outcome(limit.run(t.task('d')));
    expect(refused).toBeInstanceOf(NatterError);
    expect(refused).toMatchObject({ code: 'rate_limited', retryAfterMs: 150 }); // 3 tasks of 100 ms, 2 at a time
    expect(t.started).toEqual(['a', 'b']);

    clock = 1000; // a took 1 s: the average moves a fifth of the way there, to 280 ms
    t.finish('a');
    await settle();
    expect(t.started).toEqual(['a', 'b', 'c']);
    admitted.push(limit.run(t.task('e')));
    expect(await outcome(limit.run(t.task('f')))).toMatchObject({ retryAfterMs: 420 }); // b, c and e: 3 × 280 / 2
    for (const name of ['b', 'c']) t.finish(name);
    await settle();
    t.finish('e');
    await Promise.all(admitted);
  });

  it('frees the slot of a task that fails, and a newcomer does not overtake the queue', async () => {
    const limit = new ConcurrencyLimit(1, 1, { expectedTaskMs: 10 });
    const t = controlledTasks();
    const failing = limit.run(t.task('a'));
    const queued = limit.run(t.task('b'));
    await settle();
    t.fail('a');
    await expect(failing).rejects.toThrow('a failed');
    const newcomer = limit.run(t.task('c'));
    await settle();
    expect(t.started).toEqual(['a', 'b']);
    t.finish('b');
    await settle();
    t.finish('c');
    expect(await Promise.all([queued, newcomer])).toEqual(['b', 'c']);
  });
});
