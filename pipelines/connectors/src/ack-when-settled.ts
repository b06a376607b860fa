import type { SourceBatch, SourceRecord } from './types.js';

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
