// Which client writes outside transactions (kafka.producer_client), and how a refusal retrying cannot fix is told
// apart from either client's errors (the real-broker half is test/integration/kafka-writer.test.ts).
import { MultipleErrors, ProtocolError } from '@platformatic/kafka';
import { KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, Partitioners } from 'kafkajs';
// kafkajs' own grouping of a send's messages by partition, which its send runs again on every retry.
// @ts-expect-error: an internal module without types
import groupMessagesPerPartition from 'kafkajs/src/producer/groupMessagesPerPartition.js';
import { describe, expect, it } from 'vitest';
import { createKafka } from './client.js';
import { kafkaConnectionSchema } from './config.js';
import { PlatformaticWriter, RetryStablePartitioner, recordWriter, rejectedForGood } from './writer.js';

const connection = (producer_client: 'kafkajs' | 'platformatic') =>
  kafkaConnectionSchema.parse({ brokers: ['127.0.0.1:1'], producer_client });

describe("kafkajs' partitioner for vigil's producers", () => {
  const partitionMetadata = Array.from({ length: 6 }, (_, partitionId) => ({
    partitionId,
    partitionErrorCode: 0,
    leader: 0,
    replicas: [0],
    isr: [0],
  }));
  const messages = [
    ...Array.from({ length: 10 }, (_, i) => ({ key: null, value: `dead letter ${i}` })),
    ...Array.from({ length: 10 }, (_, i) => ({ key: `principal-${i}`, value: `record ${i}` })),
  ];
  type Grouped = Record<string, { value: string }[]>;
  const group = (partitioner: unknown): Grouped =>
    groupMessagesPerPartition({ topic: 't', partitionMetadata, messages, partitioner }) as Grouped;
  const values = (g: Grouped) => Object.fromEntries(Object.entries(g).map(([p, ms]) => [p, ms.map((m) => m.value)]));

  it('groups a retried send exactly as its first try, keyless messages included', () => {
    const stable = RetryStablePartitioner();
    const first = values(group(stable));
    expect(values(group(stable))).toEqual(first);
    expect(Object.keys(first).length).toBeGreaterThan(1); // keyless messages still spread over partitions
  });

  it("puts keyed messages where kafkajs' default partitioner does, and differs from it only on a retry", () => {
    const stable = RetryStablePartitioner();
    const plain = Partitioners.DefaultPartitioner();
    const keyed = (g: Grouped) => Object.values(values(g)).map((vs) => vs.filter((v) => v.startsWith('record')));
    expect(keyed(group(stable))).toEqual(keyed(group(plain)));
    // The default moves keyless messages on retry (round-robin): the out-of-order sequence this partitioner prevents.
    const again = Partitioners.DefaultPartitioner();
    expect(values(group(again))).not.toEqual(values(group(again)));
  });
  it('chooses again for another topic, or for a topic that has fewer partitions now', () => {
    const stable = RetryStablePartitioner();
    const message = { key: null, value: 'a dead letter' };
    const at = (topic: string, partitions: number) =>
      stable({ topic, partitionMetadata: partitionMetadata.slice(0, partitions), message });
    const first = at('t', 6);
    // Another topic places it on its own, and leaves the first topic's place as it was.
    const other = at('u', 6);
    expect([at('u', 6), at('t', 6)]).toEqual([other, first]);
    // A partition past the topic's count now is never returned: the message is placed again.
    for (let partitions = 6; partitions >= 1; partitions--) expect(at('t', partitions)).toBeLessThan(partitions);
  });

  it("is the partitioner of vigil's kafkajs writers", () => {
    const options: unknown[] = [];
    const producer = (o: unknown) => {
      options.push(o);
      return {};
    };
    const kafka = { producer } as unknown as Parameters<typeof recordWriter>[0];
    recordWriter(kafka);
    expect(options).toEqual([expect.objectContaining({ idempotent: true, createPartitioner: RetryStablePartitioner })]);
  });
});

describe('record writers', () => {
  it('use the client kafka.producer_client names (@platformatic/kafka by default)', () => {
    expect(kafkaConnectionSchema.parse({ brokers: ['k:9092'] }).producer_client).toBe('platformatic');
    expect(recordWriter(createKafka(connection('platformatic')))).toBeInstanceOf(PlatformaticWriter);
    const kafkajs = recordWriter(createKafka(connection('kafkajs')));
    expect(kafkajs).not.toBeInstanceOf(PlatformaticWriter);
    expect(typeof kafkajs.sendBatch).toBe('function');
  });

  it("recognise a refusal for good in either client's errors, however wrapped", () => {
    // kafkajs: the code in `type`, possibly inside a retries-exceeded error.
    // kafkajs builds it from its table of broker errors (it copies `type` and `code`).
    const tooLarge = new KafkaJSProtocolError(
      Object.assign(
        new Error('The request included a message larger than the max message size the server will accept'),
        {
          type: 'MESSAGE_TOO_LARGE',
          code: 10,
          retriable: false,
        },
      ),
    );
    expect((tooLarge as unknown as { type: string }).type).toBe('MESSAGE_TOO_LARGE');
    expect(rejectedForGood(tooLarge)).toBe(true);
    expect(rejectedForGood(new KafkaJSNumberOfRetriesExceeded(tooLarge, { retryCount: 3, retryTime: 100 }))).toBe(true);
    // @platformatic/kafka: the code in `apiId`, inside MultipleErrors (one error per attempt).
    const refused = new MultipleErrors('Producing messages failed.', [new ProtocolError('TOPIC_AUTHORIZATION_FAILED')]);
    expect(rejectedForGood(refused)).toBe(true);
    // What retrying can fix is not refused for good: a leader moving, and a topic unknown for a moment (both clients
    // take it for stale metadata, as a broker restarting gives it).
    for (const id of ['NOT_LEADER_OR_FOLLOWER', 'UNKNOWN_TOPIC_OR_PARTITION'])
      expect(rejectedForGood(new MultipleErrors('Producing messages failed.', [new ProtocolError(id)])), id).toBe(
        false,
      );
    expect(rejectedForGood(new Error('connect ECONNREFUSED 127.0.0.1:1'))).toBe(false);
    expect(rejectedForGood(undefined)).toBe(false);
  });
});
