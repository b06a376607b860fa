// Sparse-first SlidingCounts against counts that take their buckets from the start: every count equal, whatever the
// order of adds and counts (times going back, weights, more adds than the list holds), through checkpoints too.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SlidingCounts } from './sliding-count.js';
import { decodeState, encodeState } from './state-codec.js';

/** Small windows and times in half-second steps, so that adds often sit exactly on a window's edge. */
const WINDOWS = [10_000, 60_000];
const CHANNELS = 2;
const T0 = 1_795_000_000_000;
/** Counts that use their buckets from the first add (the layout before sparse lists). */
const dense = () => new SlidingCounts(WINDOWS, CHANNELS, 10, new Uint32Array(WINDOWS.length * (1 + CHANNELS * 10)));

const op = fc.oneof(
  fc.record({
    kind: fc.constant('add' as const),
    dt: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: -4, max: 0 })).map((k) => k * 500),
    channel: fc.integer({ min: 0, max: CHANNELS - 1 }),
    n: fc.oneof(fc.constant(1), fc.constant(1), fc.constant(3)),
  }),
  fc.record({
    kind: fc.constant('count' as const),
    dt: fc.integer({ min: -4, max: 150 }).map((k) => k * 500),
    channel: fc.integer({ min: 0, max: CHANNELS - 1 }),
    n: fc.integer({ min: 0, max: WINDOWS.length - 1 }),
  }),
  fc.record({
    kind: fc.constant('checkpoint' as const),
    dt: fc.constant(0),
    channel: fc.constant(0),
    n: fc.constant(0),
  }),
);

describe('SlidingCounts, sparse first', () => {
  it('counts what counts with buckets count, through adds, counts and checkpoints in any order', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        let sparse = new SlidingCounts(WINDOWS, CHANNELS);
        const reference = dense();
        let t = T0;
        for (const o of ops) {
          t += o.dt;
          if (o.kind === 'add') {
            sparse.add(t, o.channel, o.n);
            reference.add(t, o.channel, o.n);
          } else if (o.kind === 'count') {
            expect(sparse.count(o.n, t, o.channel)).toBe(reference.count(o.n, t, o.channel));
          } else {
            sparse = decodeState<{ c: SlidingCounts }>(encodeState({ c: sparse })).c;
          }
        }
        expect(sparse.snapshot()).toEqual(reference.snapshot());
      }),
      { numRuns: 500 },
    );
  });

  it('keeps a key seen a few times as a short list, far smaller than its buckets', () => {
    const shape = [10_000, 60_000, 600_000, 3_600_000];
    const counts = new SlidingCounts(shape, 2);
    counts.add(T0);
    counts.add(T0, 1);
    expect(counts.sparseView()?.adds).toEqual([T0, 0, T0, 1]);
    // Against the same shape with its buckets (4 clocks and 2 × 4 × 10 counts).
    expect(counts.bytes).toBeLessThan(new SlidingCounts(shape, 2, 10, new Uint32Array(84)).bytes / 2);
    for (let i = 0; i < 8; i++) counts.add(T0 + i);
    expect(counts.sparseView()).toBeUndefined();
    expect(counts.count(0, T0 + 8)).toBe(9);
  });
});
