// Creates the topics the topology declares (every one but the gateways' inputs), with their partitions and, for
// changelogs, compaction; returns the partition count of each topic that carries packed records (by name): their
// writers route each record as the client's partitioner routes its key, so they need each topic's own count, which
// may differ from topics.partitions when the topic was made by hand.
import { ensureTopics, topicPartitions } from '@vigil/connectors';
import { retried, type Wiring } from './context.js';

export async function createTopics(w: Wiring): Promise<Map<string, number>> {
  const { config, kafka, topology } = w;
  const own = [...topology.topics.values()].filter((t) => t.role !== 'input');
  await retried(w, 'kafka_admin', () =>
    ensureTopics(
      kafka,
      own.map((t) => ({
        topic: t.name,
        partitions: config.topics.partitions,
        ...(t.compacted ? { compacted: true } : {}),
      })),
    ),
  );
  const packed = own.filter((t) => t.packed).map((t) => t.name);
  if (packed.length === 0) return new Map();
  return retried(w, 'kafka_admin', () => topicPartitions(kafka, packed));
}
