// kafkajs' protocol encoder is patched (patches/kafkajs+2.2.4.patch): buffers are not zero-filled, varints go straight
// into the buffer, and a 32-bit timestamp delta skips the Long arithmetic. Every record kafkajs writes goes through
// it, so its bytes must be exactly what kafkajs' own algorithm gives; here against that algorithm, written out.
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
interface Encoder {
  writeVarInt(v: number): Encoder;
  writeUVarInt(v: number): Encoder;
  writeVarLong(v: number): Encoder;
  writeVarIntString(v: string): Encoder;
  writeInt32(v: number): Encoder;
  buffer: Buffer;
}
const Encoder = require('kafkajs/src/protocol/encoder.js') as {
  new (): Encoder;
  isInt32?: (v: unknown) => boolean;
  sizeOfVarLong(v: number): number;
};

/** kafkajs 2.2.4's varlong, with BigInt in place of its Long: zig-zag over 64 bits, then 7 bits a byte. */
function varLong(value: number): Buffer {
  const n = BigInt(value);
  let z = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
  const out: number[] = [];
  while (z >= 0x80n) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  out.push(Number(z));
  return Buffer.from(out);
}

const int = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.maxSafeInteger(),
  fc.constantFrom(0, -1, 63, -64, 64, -65, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1),
);

describe("kafkajs' protocol encoder", () => {
  it('is the patched one', () => {
    expect(typeof Encoder.isInt32).toBe('function');
  });

  it("writes every varlong and varint as kafkajs' algorithm does, and sizes them the same", () => {
    fc.assert(
      fc.property(int, (v) => {
        expect(new Encoder().writeVarLong(v).buffer).toEqual(varLong(v));
        expect(Encoder.sizeOfVarLong(v)).toBe(varLong(v).length);
        if ((v | 0) === v) expect(new Encoder().writeVarInt(v).buffer).toEqual(varLong(v));
      }),
      { numRuns: 5000 },
    );
  });

  it('writes exactly the bytes it was given across buffer growth (no byte of an unfilled buffer out)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(int, fc.string({ maxLength: 700 })), { maxLength: 60 }), (parts) => {
        const e = new Encoder();
        const want: Buffer[] = [];
        for (const [v, s] of parts) {
          e.writeVarLong(v)
            .writeVarIntString(s)
            .writeInt32(v | 0);
          const text = Buffer.from(s, 'utf8');
          const i32 = Buffer.alloc(4);
          i32.writeInt32BE(v | 0);
          want.push(varLong(v), varLong(text.length), text, i32);
        }
        expect(e.buffer).toEqual(Buffer.concat(want));
      }),
      { numRuns: 300 },
    );
  });
});
