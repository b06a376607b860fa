// The two clients that can write vigil's records outside transactions (kafka.producer_client: kafkajs, or
// @platformatic/kafka), on the real broker: a keyed record lands on the same partition from either (co-partitioned
// topics must stay co-partitioned whichever client wrote them), headers and tombstones survive, an explicit partition
// is kept, and a broker's refusal that retrying cannot fix is recognised from either client.
import {
  createKafka,
  ensureTopics,
  type KafkaConnection,
  kafkaConnectionSchema,
  recordWriter,
  rejectedForGood,
} from '@vigil/connectors';
import type { Kafka, Message } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteTopics, kafkaClient, randomName, requiredEnv, waitFor } from '../support/services.js';

const PARTITIONS = 5;

const connection = (client: 'kafkajs' | 'platformatic'): KafkaConnection =>
  kafkaConnectionSchema.parse({ brokers: requiredEnv('KAFKA_BROKERS').split(','), producer_client: client });

interface Read {
  key: string;
  value: string | null;
  partition: number;
  headers: Record<string, string>;
}

/** Every raw record with its partition; not readTopic, which reads a tombstone as an empty value (as vigil does). */
async function readAll(kafka: Kafka, topic: string, expected: number): Promise<Read[]> {
  const consumer = kafka.consumer({ groupId: randomName('reader'), maxWaitTimeInMs: 100 });
  const out: Read[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      out.push({ key: String(message.key), value: message.value?.toString() ?? null, partition, headers });
    },
  });
  try {
    await waitFor(`${expected} records on ${topic}`, async () => out.length >= expected, 30_000);
  } finally {
    await consumer.disconnect();
  }
  return out;
}

describe('writers outside transactions (kafka.producer_client)', () => {
  const kafka = kafkaClient();
  const topics: string[] = [];
  afterAll(() => deleteTopics(kafka, topics));

  it('puts each key on the partition kafkajs gives it, with its headers, tombstones and explicit partitions', async () => {
    const topic = randomName('writers');
    topics.push(topic);
    await ensureTopics(kafka, [{ topic, partitions: PARTITIONS }]);
    const messages = (client: string): Message[] =>
      Array.from({ length: 300 }, (_, i) => ({
        key: `principal-${i}`,
        // Every tenth a tombstone (a changelog's deleted key), every seventh sent to a partition of its own choosing.
        value: i % 10 === 0 ? null : `${client}-${i}`,
        headers: { 'vigil-client': client, 'vigil-n': String(i) },
        ...(i % 7 === 0 ? { partition: i % PARTITIONS } : {}),
      }));
    for (const client of ['kafkajs', 'platformatic'] as const) {
      const writer = recordWriter(createKafka(connection(client)));
      await writer.connect();
      // Two topics' worth in one round, as a fused stage sends its outputs: here the same topic twice.
      const all = messages(client);
      await writer.sendBatch({
        acks: -1,
        topicMessages: [
          { topic, messages: all.slice(0, 150) },
          { topic, messages: all.slice(150) },
        ],
      });
      await writer.disconnect();
    }
    const read = await readAll(kafka, topic, 600);
    expect(read).toHaveLength(600);
    const byClient = (client: string) =>
      new Map(read.filter((r) => r.headers['vigil-client'] === client).map((r) => [r.key, r]));
    const kafkajs = byClient('kafkajs');
    const platformatic = byClient('platformatic');
    expect(kafkajs.size).toBe(300);
    expect(platformatic.size).toBe(300);
    const used = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const a = kafkajs.get(`principal-${i}`) as Read;
      const b = platformatic.get(`principal-${i}`) as Read;
      expect(b.partition, `principal-${i}'s partition`).toBe(a.partition);
      if (i % 7 === 0) expect(b.partition).toBe(i % PARTITIONS);
      expect(b.value).toBe(i % 10 === 0 ? null : `platformatic-${i}`);
      expect(b.headers['vigil-n']).toBe(String(i));
      used.add(b.partition);
    }
    expect(used.size, 'keys spread over every partition').toBe(PARTITIONS);
  });

  it('recognises a refusal that retrying cannot fix, from either client', async () => {
    const topic = randomName('refusals');
    topics.push(topic);
    await ensureTopics(kafka, [{ topic, partitions: 1 }]);
    for (const client of ['kafkajs', 'platformatic'] as const) {
      const writer = recordWriter(createKafka({ ...connection(client), client_log_level: 'nothing' }));
      await writer.connect();
      // Over the topic's max.message.bytes (1 MiB by default).
      const tooLarge = writer.sendBatch({
        acks: -1,
        topicMessages: [{ topic, messages: [{ key: 'k', value: Buffer.alloc(2 * 1024 * 1024, 1) }] }],
      });
      const err = await tooLarge.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, `${client}: a 2 MiB record was accepted`).toBeDefined();
      expect(rejectedForGood(err), `${client}: ${(err as Error).message}`).toBe(true);
      await writer.disconnect();
    }
  });
});
