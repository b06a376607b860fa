import { describe, expect, it } from 'vitest';
import { unitHash } from './unit-hash.js';

describe('unitHash', () => {
  it('spreads short, similar keys evenly: a 20 % cut picks about 20 %', () => {
    for (const prefix of ['sub:cust-', 'r-', 'ip:10.0.0.']) {
      let n = 0;
      for (let i = 0; i < 5000; i++) if (unitHash(prefix + i.toString(36)) < 0.2) n++;
      expect(n / 5000).toBeGreaterThan(0.18);
      expect(n / 5000).toBeLessThan(0.22);
    }
    expect(unitHash('same')).toBe(unitHash('same'));
  });
});
