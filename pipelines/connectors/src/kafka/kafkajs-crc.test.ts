// kafkajs' record-batch CRC-32C is patched to native code (patches/kafkajs+2.2.4.patch, @node-rs/crc32): it must give
// exactly what kafkajs' own JavaScript gives, or every batch kafkajs writes is refused by the broker as corrupt.
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const patched = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (buffer: Buffer) => number;
const javascript = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (buffer: Buffer) => number;

describe("kafkajs' CRC-32C", () => {
  it('is the native one, and gives the standard check value (RFC 3720: "123456789" → 0xE3069283)', () => {
    expect(patched.toString()).toContain('native');
    expect(patched(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it("equals kafkajs' JavaScript on any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => {
        const buffer = Buffer.from(bytes);
        expect(patched(buffer)).toBe(javascript(buffer) >>> 0);
      }),
    );
  });
});
