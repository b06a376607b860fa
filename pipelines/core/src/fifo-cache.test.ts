// The bounded cache against a plain model of it: an array of keys in insertion order.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FifoCache } from './fifo-cache.js';

describe('FifoCache', () => {
  it('holds what a first-in-first-out list of its capacity holds, after any sequence of sets', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 80 }),
        (capacity, keys) => {
          const cache = new FifoCache<number, number>(capacity);
          const model: [number, number][] = [];
          keys.forEach((key, i) => {
            cache.set(key, i);
            const at = model.findIndex(([k]) => k === key);
            if (at >= 0) (model[at] as [number, number])[1] = i;
            else {
              model.push([key, i]);
              if (model.length > capacity) model.shift();
            }
            for (let k = 0; k <= 12; k++) expect(cache.get(k)).toBe(model.find(([m]) => m === k)?.[1]);
            expect(cache.size).toBe(model.length);
          });
        },
      ),
    );
  });

  it('evicts the oldest key, not the most recently read one', () => {
    const cache = new FifoCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1);
    cache.set('c', 3);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([undefined, 2, 3]);
  });

  it('refuses a capacity that is not a whole number ≥ 1', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new FifoCache(bad)).toThrow(/whole number/);
  });

  it('stays exact through many laps of its ring', () => {
    const cache = new FifoCache<number, number>(50_000);
    for (let i = 0; i < 250_000; i++) cache.set(i, i);
    expect(cache.size).toBe(50_000);
    expect(cache.get(199_999)).toBeUndefined();
    expect(cache.get(200_000)).toBe(200_000);
  });
});
