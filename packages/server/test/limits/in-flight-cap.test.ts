import { describe, expect, it } from 'vitest';
import { InFlightCap } from '../../src/cluster/in-flight-cap.js';

describe('InFlightCap', () => {
  it('refuses calls past the count cap or the byte cap, and frees both when answered', async () => {
    const cap = new InFlightCap(3, 100);
    const answers: Array<() => void> = [];
    const pending = () => new Promise<void>((resolve) => answers.push(resolve));
    const first = cap.tryCall(pending, 60);
    expect(first).toBeDefined();
    expect(cap.tryCall(pending, 50)).toBeUndefined(); // 110 bytes would be held
    const second = cap.tryCall(pending, 40);
    const third = cap.tryCall(pending);
    expect(second && third).toBeDefined();
    expect(cap.tryCall(pending)).toBeUndefined(); // a fourth call
    answers.shift()!();
    await first;
    expect(cap.tryCall(pending, 60)).toBeDefined(); // 60 bytes and one call were freed
  });

  it('frees its share when the call fails', async () => {
    const cap = new InFlightCap(1, 10);
    await expect(cap.tryCall(() => Promise.reject(new Error('down')), 10)).rejects.toThrow('down');
    expect(cap.tryCall(() => Promise.resolve('ok'), 10)).toBeDefined();
  });
});
