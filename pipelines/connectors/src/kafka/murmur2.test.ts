import fc from 'fast-check';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { murmur2, partitionOfKey } from './murmur2.js';

const metadata = (partitions: number) =>
  Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    partitionErrorCode: 0,
    leader: 0,
    replicas: [0],
    isr: [0],
  }));

/** kafkajs' DefaultPartitioner: the reference (Kafka's own murmur2, in its Long arithmetic). */
function kafkajsPartition(key: string | Buffer, partitions: number): number {
  const partitioner = Partitioners.DefaultPartitioner();
  return partitioner({ topic: 't', partitionMetadata: metadata(partitions), message: { key, value: null } });
}

describe('murmur2 partitioning', () => {
  it("gives every key the partition kafkajs' default partitioner gives it", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 80 }),
          // Past 85 units a key outgrows the 256-byte scratch buffer (3 bytes a unit): the growth is exercised too.
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a)),
        ),
        fc.integer({ min: 1, max: 1000 }),
        (key, partitions) => {
          expect(partitionOfKey(key, partitions)).toBe(kafkajsPartition(key, partitions));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("hashes as Java's Utils.murmur2 does (values from Kafka's own test)", () => {
    // org.apache.kafka.common.utils.UtilsTest#testMurmur2
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ];
    for (const [key, hash] of cases) expect(murmur2(Buffer.from(key, 'utf8'))).toBe(hash);
  });

  it('reuses its buffer for long keys without mixing them up', () => {
    const long = 'é'.repeat(500);
    expect(partitionOfKey(long, 97)).toBe(kafkajsPartition(long, 97));
    expect(partitionOfKey('short', 97)).toBe(kafkajsPartition('short', 97));
  });
});
