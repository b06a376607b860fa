// kafkajs' groupMessagesPerPartition is patched (patches/kafkajs+2.2.4.patch) to append each message to its
// partition's array instead of copying the array for every message (quadratic in a send's messages). It must give
// what the original gave: the same partitions, each message once, in the order sent.
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
type Grouping = (args: {
  topic: string;
  partitionMetadata: { partitionId: number }[];
  messages: { key: string; value: string }[];
  partitioner: (args: {
    topic: string;
    partitionMetadata: { partitionId: number }[];
    message: { key: string };
  }) => number;
}) => Record<string, { key: string; value: string }[]>;
const patched = require('kafkajs/src/producer/groupMessagesPerPartition.js') as Grouping;

/** kafkajs 2.2.4's own function, as released. */
const original: Grouping = ({ topic, partitionMetadata, messages, partitioner }) => {
  if (partitionMetadata.length === 0) return {};
  return messages.reduce<Record<string, { key: string; value: string }[]>>((result, message) => {
    const partition = partitioner({ topic, partitionMetadata, message });
    const current = result[partition] || [];
    return Object.assign(result, { [partition]: [...current, message] });
  }, {});
};

describe("kafkajs' grouping of a send's messages by partition", () => {
  it('is the patched one', () => {
    expect(patched.toString()).toContain('push');
  });

  it('groups as the original does: the same partitions, in the same order, each message in order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12 }),
        fc.array(fc.tuple(fc.string({ maxLength: 6 }), fc.nat(11)), { maxLength: 200 }),
        (partitions, sent) => {
          const messages = sent.map(([key], i) => ({ key, value: String(i) }));
          const partitionOf = new Map(
            messages.map((m, i) => [m, (sent[i] as [string, number])[1] % Math.max(1, partitions)]),
          );
          const args = {
            topic: 't',
            partitionMetadata: Array.from({ length: partitions }, (_, partitionId) => ({ partitionId })),
            messages,
            partitioner: ({ message }: { message: { key: string } }) => partitionOf.get(message as never) as number,
          };
          const got = patched(args);
          const want = original(args);
          expect(Object.keys(got)).toEqual(Object.keys(want));
          expect(got).toEqual(want);
        },
      ),
    );
  });
});
