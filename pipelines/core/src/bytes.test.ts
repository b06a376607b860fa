import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter } from './bytes.js';

describe('ByteWriter and ByteReader', () => {
  it('write a whole number up to 2^53 − 1 in 1–8 bytes and read it back (uvarLong)', () => {
    const w = new ByteWriter();
    const sizes = [0, 127, 128, 2 ** 32, 1_795_000_000_123, 2 ** 53 - 1].map((v) => {
      const at = w.pos;
      w.uvarLong(v);
      return w.pos - at;
    });
    expect(sizes).toEqual([1, 1, 2, 5, 6, 8]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (v) => {
        const bytes = new ByteWriter();
        bytes.uvarLong(v);
        bytes.uvar(7);
        const r = new ByteReader(bytes.finish());
        expect(r.uvarLong()).toBe(v);
        expect(r.uvar()).toBe(7);
        expect(r.atEnd()).toBe(true);
      }),
    );
  });

  it('reads a float32 back as written, and NaN from a varint that never ends', () => {
    const w = new ByteWriter();
    w.f32(1.25);
    w.f32(Number.NEGATIVE_INFINITY);
    w.raw(Buffer.alloc(9, 0xff));
    const r = new ByteReader(w.finish());
    expect([r.f32(), r.f32()]).toEqual([1.25, Number.NEGATIVE_INFINITY]);
    expect(r.uvarLong()).toBeNaN();
  });
});
