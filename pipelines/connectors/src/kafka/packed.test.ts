import fc from 'fast-check';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { SourceRecord } from '../types.js';
import { PACKED_HEADER, packEntries, packMessages, partitionerFor, unpackEntries } from './packed.js';
import { FENCE_HEADER, sourceRecords } from './source.js';

const entry = fc.record({
  key: fc.option(fc.string({ maxLength: 40 }), { nil: null }),
  value: fc.string({ maxLength: 300 }),
  // (Header names are Kafka header names; '__proto__' would set a prototype, not a key, in any reader's object.)
  headers: fc.dictionary(
    fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== '__proto__'),
    fc.string({ maxLength: 30 }),
    { maxKeys: 4 },
  ),
});

describe('packed records', () => {
  it('unpack gives back every key, header and value, in order', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 50 }), (entries) => {
        const back = unpackEntries(packEntries(entries));
        expect(
          back.map((e) => ({
            key: e.key?.toString('utf8') ?? null,
            value: e.value.toString('utf8'),
            headers: e.headers,
          })),
        ).toEqual(entries);
      }),
    );
  });

  it('routes each record to the partition kafkajs gives its key, keeping order within a partition', () => {
    const partitioner = Partitioners.DefaultPartitioner();
    const metadata = Array.from({ length: 7 }, (_, partitionId) => ({
      partitionId,
      partitionErrorCode: 0,
      leader: 0,
      replicas: [0],
      isr: [0],
    }));
    const messages = Array.from({ length: 500 }, (_, i) => ({
      key: `sub:customer-${i % 37}`,
      value: `{"n":${i}}`,
      headers: { h: String(i) },
    }));
    const packed = packMessages(messages, partitionerFor(7));
    expect(packed.length).toBeLessThanOrEqual(7);
    const seen: number[] = [];
    for (const m of packed) {
      expect(m.headers).toEqual({ [PACKED_HEADER]: '1' });
      for (const e of unpackEntries(m.value as Buffer)) {
        const key = e.key?.toString('utf8') ?? '';
        expect(m.partition).toBe(
          partitioner({ topic: 't', partitionMetadata: metadata, message: { key, value: null } }),
        );
        seen.push(Number(e.headers.h));
      }
    }
    expect(seen.sort((a, b) => a - b)).toEqual(messages.map((_, i) => i));
    // Order within each partition is the order written.
    for (const m of packed) {
      const order = unpackEntries(m.value as Buffer).map((e) => Number(e.headers.h));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
  });

  it('splits a partition’s records into packs under the byte limit', () => {
    const messages = Array.from({ length: 100 }, (_, i) => ({
      key: 'one-key',
      value: 'x'.repeat(1000 + i),
      headers: {},
    }));
    const packed = packMessages(messages, partitionerFor(3), 10_000);
    expect(packed.length).toBeGreaterThan(10);
    for (const m of packed) expect((m.value as Buffer).length).toBeLessThan(10_000 + 2_000);
    expect(packed.flatMap((m) => unpackEntries(m.value as Buffer)).map((e) => e.value.length)).toEqual(
      messages.map((m) => m.value.length),
    );
  });

  it('counts keys and headers toward the byte limit, not only values', () => {
    // Small values under long trace headers (a tracestate may be 512 characters): sized by values alone, all of them
    // would have gone into one record of ~140 KB against a 10 KB limit.
    const messages = Array.from({ length: 200 }, (_, i) => ({
      key: `principal-${i % 2}`,
      value: 'v'.repeat(10),
      headers: { traceparent: 't'.repeat(55), tracestate: 's'.repeat(512), 'vigil-source': 'u'.repeat(80) },
    }));
    const packed = packMessages(messages, partitionerFor(1), 10_000);
    expect(packed.length).toBeGreaterThan(10);
    for (const m of packed) expect((m.value as Buffer).length).toBeLessThanOrEqual(10_000);
    expect(packed.flatMap((m) => unpackEntries(m.value as Buffer)).map((e) => e.headers)).toEqual(
      messages.map((m) => m.headers),
    );
  });

  it('refuses truncated, trailing or unknown-version bytes', () => {
    const good = packEntries([{ key: 'k', value: 'v', headers: { a: 'b' } }]);
    expect(() => unpackEntries(good.subarray(0, good.length - 1))).toThrow(/truncated/);
    expect(() => unpackEntries(Buffer.concat([good, Buffer.from([0])]))).toThrow(/trailing/);
    const other = Buffer.from(good);
    other.writeUInt8(9, 0);
    expect(() => unpackEntries(other)).toThrow(/version 9/);
    expect(() => unpackEntries(Buffer.from('{"ts":1}'))).toThrow();
  });

  it('a reader sees a packed record as the records it holds, at its position, and passes a broken one on whole', () => {
    const value = packEntries([
      { key: 'a', value: '1', headers: { x: 'y' } },
      { key: null, value: '2' },
    ]);
    const out: SourceRecord[] = [];
    const base = { timestamp: '5', attributes: 0 };
    sourceRecords('t', 2, { ...base, offset: '10', key: null, value, headers: { [PACKED_HEADER]: '1' } }, out);
    sourceRecords(
      't',
      2,
      { ...base, offset: '11', key: Buffer.from('k'), value: Buffer.from('plain'), headers: {} },
      out,
    );
    sourceRecords(
      't',
      2,
      { ...base, offset: '12', key: null, value: Buffer.from('broken'), headers: { [PACKED_HEADER]: '1' } },
      out,
    );
    expect(out.map((r) => [r.key?.toString() ?? null, r.value.toString(), r.position.offset, r.headers])).toEqual([
      ['a', '1', '10', { x: 'y' }],
      [null, '2', '10', {}],
      ['k', 'plain', '11', {}],
      [null, 'broken', '12', { [PACKED_HEADER]: '1' }],
    ]);
    expect(out.every((r) => r.timestamp === 5 && r.position.partition === 2)).toBe(true);
  });

  it("a reader skips a take-over's fence record", () => {
    const out: SourceRecord[] = [];
    const base = { timestamp: '5', attributes: 0 };
    const fence = {
      ...base,
      offset: '20',
      key: Buffer.from(FENCE_HEADER),
      value: null,
      headers: { [FENCE_HEADER]: '1' },
    };
    sourceRecords('t', 0, fence, out);
    sourceRecords('t', 0, { ...base, offset: '21', key: null, value: Buffer.from('{}'), headers: {} }, out);
    expect(out.map((r) => r.position.offset)).toEqual(['21']);
  });
});
