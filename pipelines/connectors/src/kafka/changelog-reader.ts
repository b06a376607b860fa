// Reads partitions of a compacted changelog topic from the beginning to their current end and returns the latest
// record per key (deleted keys dropped): the state the changelog describes. kafkajs has no manual partition
// assignment, so a short-lived consumer group of its own reads the topic and ignores the other partitions.
// Reads are read_committed: records of aborted checkpoint transactions never reach a restore.
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { deleteGroupQuietly } from './admin.js';

export type ChangelogState = Map<string, Buffer>;

export async function readChangelog(
  kafka: Kafka,
  topic: string,
  partitions: number[],
): Promise<Map<number, ChangelogState>> {
  const states = new Map<number, ChangelogState>(partitions.map((p) => [p, new Map()]));
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, number>;
  try {
    ends = new Map(
      (await admin.fetchTopicOffsets(topic))
        .filter((o) => Number(o.high) > Number(o.low))
        .map((o) => [o.partition, Number(o.high) - 1]),
    );
  } finally {
    await admin.disconnect();
  }
  const waiting = new Set(partitions.filter((p) => ends.has(p)));
  if (waiting.size === 0) return states;

  const groupId = `vigil-restore-${randomUUID()}`;
  const consumer = kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    maxBytesPerPartition: 4 * 1024 * 1024,
    maxWaitTimeInMs: 100,
  });
  let done!: () => void;
  let failed!: (err: Error) => void;
  const finished = new Promise<void>((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  const reached = (partition: number, offset: number) => {
    if (waiting.has(partition) && offset >= (ends.get(partition) as number)) {
      waiting.delete(partition);
      if (waiting.size === 0) done();
    }
  };
  // A batch of only control records (a transaction's commit marker at the very end) skips eachBatch.
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => reached(e.payload.partition, Number(e.payload.lastOffset)));
  consumer.on(consumer.events.CRASH, (e) => failed(e.payload.error));
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const state = states.get(batch.partition);
        if (!state || !waiting.has(batch.partition)) return;
        for (const m of batch.messages) {
          const key = m.key?.toString('utf8');
          if (key === undefined) continue;
          state.delete(key);
          if (m.value !== null) state.set(key, m.value);
        }
        reached(batch.partition, Number(batch.lastOffset()));
      },
    });
    await finished;
  } finally {
    await consumer.disconnect();
    await deleteGroupQuietly(kafka, groupId);
  }
  return states;
}
