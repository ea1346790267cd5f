import { describe, expect, it } from 'vitest';
import { PreAuthAdmission } from '../../src/limits/pre-auth-admission.js';

describe('PreAuthAdmission', () => {
  it('caps each address at its share, and all addresses together at the total', () => {
    const admission = new PreAuthAdmission(5, 3);
    for (let i = 0; i < 3; i++) {
      expect(admission.admits('a')).toBe(true);
      admission.add('a');
    }
    expect(admission.admits('a')).toBe(false);
    expect(admission.admits('b')).toBe(true);
    admission.add('b');
    admission.add('b');
    // b holds 2 of its 3, but the total is full
    expect(admission.admits('b')).toBe(false);
    expect(admission.admits('c')).toBe(false);
    admission.release('a');
    expect(admission.admits('a')).toBe(true);
    expect(admission.admits('c')).toBe(true);
  });

  it('forgets an address when its last socket is released; a stray release changes nothing', () => {
    const admission = new PreAuthAdmission(10, 2);
    admission.add('a');
    admission.add('a');
    admission.add('b');
    expect(admission.addresses).toBe(2);
    admission.release('a');
    admission.release('b');
    expect(admission.addresses).toBe(1);
    admission.release('a');
    expect(admission.addresses).toBe(0);
    admission.release('a');
    for (let i = 0; i < 10; i++) admission.add(`x${i}`);
    expect(admission.admits('y')).toBe(false); // the stray release freed no slot
  });
});
