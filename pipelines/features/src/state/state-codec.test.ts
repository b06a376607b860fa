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

  it('round-trips every number bit for bit, measured back from a record time or not', () => {
    fc.assert(
      fc.property(fc.double(), fc.oneof(fc.constant(Number.NaN), fc.integer({ min: 0, max: 2 ** 53 - 1 })), (v, at) => {
        const back = decodeState<number[]>(encodeState([v, at - 1, at], undefined, at), 0, undefined, at);
        expect(Object.is(back[0], v)).toBe(true);
        expect(Object.is(back[1], at - 1)).toBe(true);
        expect(Object.is(back[2], at)).toBe(true);
      }),
    );
    // Event times a state keeps, written back from the record's time: two bytes each, not nine.
    const at = 1_795_000_000_123;
    expect(encodeState([at, at - 5_000, at - 60_000], undefined, at).length).toBe(2 + 2 + 3 + 4);
    expect(() => decodeState(encodeState([at], undefined, at))).toThrow(/relative to no record time/);
    // A record time with a fraction: nothing is written back from it (the distance would not be whole).
    expect(decodeState(encodeState({ a: 1000, b: 999 }, undefined, 1000.5), 0, undefined, 1000.5)).toEqual({
      a: 1000,
      b: 999,
    });
  });

  it('reads the first form a checkpoint took (tags 4–13: field names spelled, doubles, u32 lengths)', () => {
    // Written by the codec before its compact form (at ce3b828 and before), for this value:
    const counts = new SlidingCounts([10_000, 60_000], 3);
    counts.add(1_795_000_000_123, 2, 7);
    const sparse = new SlidingCounts([60_000, 3_600_000], 2);
    sparse.add(1_795_000_000_000, 1);
    const value = {
      last: 1_795_000_000_123,
      half: 0.5,
      nan: Number.NaN,
      negZero: -0,
      neg: -3,
      text: 'naïve ☃',
      flag: true,
      nothing: undefined,
      none: null,
      counts,
      sparse,
      dense: new Uint32Array(8).map((_, i) => i + 1),
      zeros: new Uint32Array(100),
      hours: new Float32Array([0.5, 1.25, 0]),
      seen: new Map<string, number>([
        ['42', 1],
        ['43', 2],
      ]),
      list: [1, 'a', [2]],
    };
    const first = Buffer.from(FIRST_FORM, 'base64');
    const back = decodeState<typeof value>(first);
    expect(back).toEqual({ ...value, counts: expect.any(SlidingCounts), sparse: expect.any(SlidingCounts) });
    expect(Object.is(back.negZero, -0)).toBe(true);
    expect(back.counts.snapshot()).toEqual(counts.snapshot());
    expect(back.sparse.snapshot()).toEqual(sparse.snapshot());
    // The compact form of the same value: under half the bytes, and read back the same.
    const compact = encodeState(value, undefined, value.last);
    expect(compact.length).toBeLessThan(first.length / 2);
    const again = decodeState<typeof value>(compact, 0, undefined, value.last);
    expect(again).toEqual(back);
    expect(again.counts.snapshot()).toEqual(counts.snapshot());
    expect(again.sparse.snapshot()).toEqual(sparse.snapshot());
  });

  it('refuses values it cannot store and corrupt input, with a clear message', () => {
    expect(() => encodeState({ when: new Date() })).toThrow(/cannot store/);
    expect(() => decodeState(Buffer.from([99]))).toThrow(/corrupt/);
    expect(() => decodeState(Buffer.concat([encodeState(1), Buffer.from([0])]))).toThrow(/trailing/);
    // A list that claims more values than its bytes could hold, an unknown field name, a count past its array.
    expect(() => decodeState(Buffer.from([19, 0xff, 0xff, 0xff, 0x7f, 1]))).toThrow(/corrupt.*values with/);
    expect(() => decodeState(Buffer.from([21, 1, 0x7f, 1]))).toThrow(/corrupt.*field name/);
    expect(() => decodeState(Buffer.from([22, 2, 2, 5, 1]))).toThrow(/corrupt.*past its array/);
    // A varint that never ends; a window shape of no channels; sparse arrays of 2^24 entries each, in a few bytes.
    expect(() => decodeState(Buffer.from([14, ...Array(9).fill(0xff), 1]))).toThrow(/corrupt.*out of range/);
    expect(() => decodeState(Buffer.from([24, 1, 14, 1, 0, 10, 0, 0]))).toThrow(/corrupt.*window shape of 0/);
    const huge = [22, 0x80, 0x80, 0x80, 0x08, 1];
    expect(decodeState<Uint32Array>(Buffer.from(huge)).length).toBe(2 ** 24);
    expect(() => decodeState(Buffer.from([19, 2, ...huge, ...huge]))).toThrow(/corrupt.*arrays past/);
  });
});

/** FIRST_FORM's value (the test above), encoded by the codec's first form. */
const FIRST_FORM =
  'CxAAAAAEAAAAbGFzdAQAsOdl5R56QgQAAABoYWxmBAAAAAAAAOA/AwAAAG5hbgQAAAAAAAD4fwcAAABuZWdaZXJvBAAAAAAAAACAAwAAAG5lZwQAAA' +
  'AAAAAIwAQAAAB0ZXh0BQoAAABuYcOvdmUg4piDBAAAAGZsYWcDBwAAAG5vdGhpbmcABAAAAG5vbmUBBgAAAGNvdW50cwwCAAAAAAAAAACIw0AAAAAA' +
  'AEztQAMAAAAKAAAAPgAAAAQAAAAAAAAAwYb9agEAAADL69QRKgAAAAcAAAA6AAAABwAAAAYAAABzcGFyc2UNAgAAAAAAAAAATO1AAAAAAEB3S0ECAAAA' +
  'CgAAAAAA4GXlHnpCAgAAAAAA4GXlHnpCAAAAAAAA8D8FAAAAZGVuc2UHCAAAAP////8BAAAAAgAAAAMAAAAEAAAABQAAAAYAAAAHAAAACAAAAAUAAAB6' +
  'ZXJvcwdkAAAAAAAAAAUAAABob3VycwgMAAAAAAAAPwAAoD8AAAAABAAAAHNlZW4KAgAAAAUCAAAANDIEAAAAAAAA8D8FAgAAADQzBAAAAAAAAABABAAA' +
  'AGxpc3QJAwAAAAQAAAAAAADwPwUBAAAAYQkBAAAABAAAAAAAAABA';
