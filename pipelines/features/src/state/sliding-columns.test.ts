// SlidingColumns against SlidingCounts objects, one per slot: every count the same, and the same object form (the
// checkpoint codec's bytes) at every step, through adds in order, late adds, weights, counts ahead of the adds,
// round trips through the object form and the columns' growth.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SlidingColumns } from './sliding-columns.js';
import { SlidingCounts } from './sliding-count.js';
import { encodeState } from './state-codec.js';

const WINDOWS = [10_000, 60_000, 600_000];

const op = fc.record({
  slot: fc.integer({ min: 0, max: 5 }),
  kind: fc.constantFrom('add', 'add', 'add', 'count', 'roundTrip'),
  /** Milliseconds after the slot's previous time (negative: a late event). */
  step: fc.oneof(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: -20_000, max: 700_000 })),
  channel: fc.integer({ min: 0, max: 2 }),
  n: fc.oneof(fc.constant(1), fc.constant(1), fc.integer({ min: 2, max: 4 })),
  w: fc.integer({ min: 0, max: 2 }),
});

describe('sliding-window counts in columns', () => {
  it('count as SlidingCounts objects do, and hold the same object form', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.integer({ min: 1, max: 3 }), (ops, inline) => {
        const columns = new SlidingColumns(WINDOWS, 3, 10, inline);
        columns.grow(2);
        const objects: SlidingCounts[] = [];
        const times: number[] = [];
        for (const o of ops) {
          if (o.slot >= objects.length) {
            columns.grow(o.slot + 1);
            for (let s = objects.length; s <= o.slot; s++) {
              objects.push(new SlidingCounts(WINDOWS, 3, 10));
              columns.write(s, new SlidingCounts(WINDOWS, 3, 10));
              times.push(1_000_000);
            }
          }
          const t = Math.max(0, (times[o.slot] as number) + o.step);
          times[o.slot] = Math.max(times[o.slot] as number, t);
          const object = objects[o.slot] as SlidingCounts;
          if (o.kind === 'add') {
            object.add(t, o.channel, o.n);
            columns.add(o.slot, t, o.channel, o.n);
          } else if (o.kind === 'count') {
            expect(columns.count(o.slot, o.w, t, o.channel)).toBe(object.count(o.w, t, o.channel));
          } else {
            // Out to the object form and back, as a checkpoint and a restore do.
            columns.write(o.slot, columns.read(o.slot));
          }
          for (let s = 0; s < objects.length; s++)
            expect(encodeState(columns.read(s)).equals(encodeState(objects[s]))).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('keeps a key seen once in the columns, and gives a key past its inline adds an object of its own', () => {
    const columns = new SlidingColumns(WINDOWS, 2, 10, 2);
    columns.grow(2);
    columns.write(0, new SlidingCounts(WINDOWS, 2, 10));
    columns.write(1, new SlidingCounts(WINDOWS, 2, 10));
    columns.add(0, 1000);
    columns.add(0, 1000, 1);
    expect(columns.extraBytes(0)).toBe(0);
    columns.add(1, 1000);
    columns.add(1, 2000);
    columns.add(1, 3000);
    expect(columns.extraBytes(1)).toBeGreaterThan(0);
    expect(columns.count(1, 0, 3000)).toBe(3);
    // Counts of another shape (written with other windows) are kept as the object they are.
    const other = new SlidingCounts([5_000], 2, 10);
    other.add(1000);
    columns.write(0, other);
    expect(columns.read(0)).toBe(other);
  });

  it('frees a slot to empty counts, inline or object', () => {
    const columns = new SlidingColumns(WINDOWS, 1, 10, 2);
    columns.grow(2);
    const empty = encodeState(new SlidingCounts(WINDOWS, 1, 10));
    columns.add(0, 1000);
    for (const t of [1000, 2000, 3000]) columns.add(1, t);
    for (const slot of [0, 1]) {
      columns.free(slot);
      expect(columns.extraBytes(slot)).toBe(0);
      expect(encodeState(columns.read(slot)).equals(empty)).toBe(true);
    }
  });
});
