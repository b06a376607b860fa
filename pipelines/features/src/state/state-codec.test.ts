import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SlidingCounts } from './sliding-count.js';
import { decodeState, encodeState } from './state-codec.js';

describe('state codec', () => {
  it('round-trips every kind of value feature state holds, bit for bit', () => {
    const counts = new SlidingCounts([10_000, 60_000], 3);
    counts.add(1_795_000_000_123, 2, 7);
    const dense = new Uint32Array(8).map((_, i) => i + 1);
    const value = {
      last: 1_795_000_000_123,
      nan: Number.NaN,
      inf: Number.NEGATIVE_INFINITY,
      negZero: -0,
      text: 'naïve ☃',
      flag: true,
      nothing: undefined,
      none: null,
      counts,
      dense,
      sparse: new Uint32Array(100),
      hours: new Float32Array([0.5, 1.25, 0]),
      seen: new Map<string, number>([
        ['42', 1],
        ['43', 2],
      ]),
      list: [1, 'a', [2]],
    };
    const back = decodeState<typeof value>(encodeState(value));
    expect(back).toEqual({ ...value, counts: expect.any(SlidingCounts) });
    expect(Object.is(back.negZero, -0)).toBe(true);
    expect(back.counts.snapshot()).toEqual(counts.snapshot());
    expect(back.counts.count(0, 1_795_000_000_123, 2)).toBe(7);
  });

  it('stores mostly-zero counts sparsely', () => {
    const counts = new SlidingCounts([10_000, 60_000, 600_000, 3_600_000]);
    counts.add(1_795_000_000_000);
    expect(encodeState({ counts }).length).toBeLessThan(counts.snapshot().data.byteLength);
  });

  it('round-trips arbitrary JSON-like values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(decodeState(encodeState(v))).toStrictEqual(v);
      }),
    );
  });

  it('keeps a "__proto__" key a key (no prototype replaced by a crafted checkpoint)', () => {
    const crafted = JSON.parse('{"__proto__": {"polluted": true}, "n": 1}') as Record<string, unknown>;
    const back = decodeState<Record<string, unknown>>(encodeState(crafted));
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back)).toEqual(['__proto__', 'n']);
    expect((back as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('refuses values it cannot store and corrupt input, with a clear message', () => {
    expect(() => encodeState({ when: new Date() })).toThrow(/cannot store/);
    expect(() => decodeState(Buffer.from([99]))).toThrow(/corrupt/);
    expect(() => decodeState(Buffer.concat([encodeState(1), Buffer.from([0])]))).toThrow(/trailing/);
  });
});
