import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sortByKey } from './radix-sort.js';

describe('sortByKey', () => {
  it('orders slots by their keys as a stable comparison sort does, over every key spread up to 32 bits', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 2 ** 32 - 1 }), { maxLength: 3000 }),
        fc.integer({ min: 0, max: 32 }),
        (raw, bits) => {
          // Keys of any width, with ties (a narrow width gives many).
          const keys = Uint32Array.from(raw, (k) => (bits === 32 ? k : k % 2 ** bits));
          const slots = Int32Array.from(keys, (_, i) => 3 * i + 1);
          const expected = [...slots].map((slot, i) => [keys[i] as number, slot] as const);
          expected.sort((a, b) => a[0] - b[0]);
          const sorted = sortByKey(slots, keys);
          expect(sorted).toBe(slots);
          expect([...sorted]).toEqual(expected.map(([, slot]) => slot));
          expect([...keys]).toEqual(expected.map(([key]) => key));
        },
      ),
      { numRuns: 200 },
    );
  });
});
