// Topic administration: creates the topics vigil writes when they are missing (DLQ, keyed, compacted).
import type { Kafka } from 'kafkajs';

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor?: number;
  compacted?: boolean;
  retentionMs?: number;
}

export async function ensureTopics(kafka: Kafka, specs: TopicSpec[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    // The first spec of a topic wins (a service may name one topic twice: the revoker reads and notifies on decisions).
    const missing = specs.filter((s, i) => !existing.has(s.topic) && specs.findIndex((o) => o.topic === s.topic) === i);
    if (missing.length === 0) return;
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor: s.replicationFactor ?? -1,
        configEntries: [
          ...(s.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : []),
          ...(s.retentionMs !== undefined ? [{ name: 'retention.ms', value: String(s.retentionMs) }] : []),
        ],
      })),
    });
  } finally {
    await admin.disconnect();
  }
}

/** How many partitions each topic has (they exist): packed writers route by it, as the client's partitioner does. */
export async function topicPartitions(kafka: Kafka, topics: string[]): Promise<Map<string, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics: found } = await admin.fetchTopicMetadata({ topics });
    return new Map(found.map((t) => [t.name, t.partitions.length]));
  } finally {
    await admin.disconnect();
  }
}

/** Deletes a throwaway consumer group, ignoring failures (the broker drops empty groups in time anyway). */
export async function deleteGroupQuietly(kafka: Kafka, groupId: string): Promise<void> {
  const admin = kafka.admin();
  await admin
    .connect()
    .then(() => admin.deleteGroups([groupId]))
    .catch(() => undefined)
    .finally(() => admin.disconnect());
}

/** Where a consumer group stands on one partition of a topic it reads. */
export interface PartitionLag {
  partition: number;
  /** The partition's end offset. */
  end: number;
  /** What the group has committed (-1: nothing yet). */
  committed: number;
  /** The partition's first offset still held (retention). */
  start: number;
}

export interface GroupLag {
  partitions: PartitionLag[];
  /** Members in the group: none means nobody is reading. */
  members: number;
  /** Members in `alsoCount`'s group, when asked (0 when it has none). */
  otherMembers?: number;
}

/**
 * Reads, on each call, how far `group` trails the end of `topic`, partition by partition, and how many members it has
 * (and `alsoCount`'s group: its members only). One admin connection for all the calls, made on the first (and again
 * after one that failed); `close` lets it go.
 */
export function groupLagReader(
  kafka: Kafka,
  o: { topic: string; group: string; alsoCount?: string },
): { read: () => Promise<GroupLag>; close: () => Promise<void> } {
  const admin = kafka.admin();
  let connected: Promise<void> | undefined;
  const read = async (): Promise<GroupLag> => {
    connected ??= admin.connect().catch((err: unknown) => {
      connected = undefined;
      throw err;
    });
    await connected;
    const groupIds = o.alsoCount === undefined ? [o.group] : [o.group, o.alsoCount];
    const [ends, [committed], { groups }] = await Promise.all([
      admin.fetchTopicOffsets(o.topic),
      admin.fetchOffsets({ groupId: o.group, topics: [o.topic] }),
      admin.describeGroups(groupIds),
    ]);
    const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    const members = (id: string) => groups.find((g) => g.groupId === id)?.members.length ?? 0;
    return {
      partitions: ends.map((p) => ({
        partition: p.partition,
        end: Number(p.high),
        committed: at.get(p.partition) ?? -1,
        start: Number(p.low),
      })),
      members: members(o.group),
      ...(o.alsoCount === undefined ? {} : { otherMembers: members(o.alsoCount) }),
    };
  };
  return { read, close: () => admin.disconnect() };
}
