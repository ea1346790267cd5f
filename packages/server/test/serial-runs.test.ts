import { describe, expect, it } from 'vitest';
import { SerialRuns } from '../src/serial-runs.js';

describe('SerialRuns', () => {
  it('runs one at a time, folds the asks made meanwhile into one more run, and reports failures', async () => {
    const order: string[] = [];
    const errors: unknown[] = [];
    let release: () => void = () => {};
    let runs = 0;
    const serial = new SerialRuns(
      async () => {
        const n = ++runs;
        order.push(`start ${n}`);
        if (n === 1) await new Promise<void>((resolve) => (release = resolve));
        if (n === 2) throw new Error('boom');
        order.push(`end ${n}`);
      },
      (error) => errors.push(error),
    );
    serial.request();
    serial.request();
    serial.request();
    expect(order).toEqual(['start 1']);
    release();
    await new Promise((resolve) => setTimeout(resolve, 0));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(order).toEqual(['start 1', 'end 1', 'start 2']);
    expect(errors).toHaveLength(1);
    serial.request();
    await serial.stop();
    expect(order).toEqual(['start 1', 'end 1', 'start 2', 'start 3', 'end 3']);
    serial.request();
    expect(runs).toBe(3);
  });
});
