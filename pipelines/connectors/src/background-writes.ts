import type { Kafka } from 'kafkajs';
import type { SourceBatch, SourceRecord } from './types.js';

// Writes a stage starts in the background (audit rows, dead letters) so the next record need not wait for them,
// and the one place that waits: whoever commits the input offset calls settled() first, so nothing the committed
// input produced can be lost.
export class BackgroundWrites {
  private pending: Promise<unknown>[] = [];

  track(write: Promise<unknown>): void {
    this.pending.push(write);
    write.catch(() => undefined); // kept for settled(); not an unhandled rejection meanwhile
  }

  /** Resolves once every write started so far is durable; rejects with the first failure. */
  async settled(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    await Promise.all(pending);
  }
}

/**
 * A batch handler for work that is done in order but whose writes settle in the background: runs `work`, keeps the
 * group membership alive while it waits (a dependency down for long), and acknowledges the batch once `settled()`
 * says its background writes are durable — without holding the next batch back.
 */
export function ackWhenSettled(
  work: (records: SourceRecord[], poison: SourceBatch['poison']) => Promise<void>,
  settled: () => Promise<void>,
): (batch: SourceBatch) => Promise<void> {
  const failure = (err: unknown) => (err instanceof Error ? err : new Error(String(err)));
  return async (batch) => {
    const beat = setInterval(() => void batch.heartbeat().catch(() => undefined), 2000);
    try {
      await work(batch.records, (record, detail) => batch.poison(record, detail));
      settled().then(
        () => batch.ack(),
        (err: unknown) => batch.ack(failure(err)),
      );
    } catch (err) {
      batch.ack(failure(err));
    } finally {
      clearInterval(beat);
    }
  };
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
