// The reorder buffer releases the same items in the same order whatever their arrival order within the bound.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReorderBuffer } from './reorder-buffer.js';

const drain = (items: { ts: number; id: string }[], boundMs: number) => {
  const b = new ReorderBuffer<string>(boundMs);
  const out: string[] = [];
  for (const x of items) out.push(...b.push(x.ts, x.id, x.id));
  out.push(...b.flush());
  return { out, late: b.late };
};

describe('ReorderBuffer', () => {
  it('releases in (time, id) order once the watermark passes', () => {
    const b = new ReorderBuffer<string>(100);
    expect(b.push(1000, 'b', 'b')).toEqual([]);
    expect(b.push(990, 'a', 'a')).toEqual([]);
    expect(b.push(1095, 'c', 'c')).toEqual(['a']);
    expect(b.push(1200, 'd', 'd')).toEqual(['b', 'c']);
    expect(b.flush()).toEqual(['d']);
  });

  it('releases a late item at once, counted as late', () => {
    const b = new ReorderBuffer<string>(100);
    b.push(1000, 'a', 'a');
    b.push(2000, 'b', 'b');
    expect(b.push(1500, 'late', 'late')).toEqual(['late']);
    expect(b.late).toBe(1);
  });

  it('gives the same order for every arrival order whose displacement stays within the bound', () => {
    const events = fc.uniqueArray(
      fc.record({ ts: fc.integer({ min: 0, max: 100_000 }), id: fc.string({ minLength: 1, maxLength: 6 }) }),
      {
        minLength: 1,
        maxLength: 200,
        selector: (e) => e.id,
      },
    );
    fc.assert(
      fc.property(events, fc.integer({ min: 0, max: 2000 }), fc.integer(), (items, jitter, seed) => {
        const sorted = [...items].sort((a, b) => a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        // Shuffle by sorting on time plus a bounded, seeded disturbance: no item moves more than `jitter` ms.
        let s = seed >>> 0;
        const rand = () => {
          s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
          return s / 2 ** 32;
        };
        const shuffled = items
          .map((x) => ({ x, key: x.ts + rand() * jitter }))
          .sort((a, b) => a.key - b.key)
          .map((k) => k.x);
        const bound = jitter + 1;
        const a = drain(shuffled, bound);
        expect(a.late).toBe(0);
        expect(a.out).toEqual(sorted.map((x) => x.id));
      }),
      { numRuns: 300 },
    );
  });

  it('releases items with the same time and id in the order they arrived, also after a restore', () => {
    const b = new ReorderBuffer<number>(1000);
    for (let i = 0; i < 7; i++) b.push(5000, 'same', i);
    expect(b.flush()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const r = new ReorderBuffer<number>(1000);
    r.restore(
      { maxTs: 5000, late: 0 },
      [0, 1, 2, 3, 4, 5, 6].map((i) => ({ ts: 5000, id: 'same', item: i })),
    );
    r.push(5000, 'same', 7);
    expect(r.flush()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});
