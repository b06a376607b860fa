// A source handler that only stores: each record decoded and written to one sink (with its source position, for
// idempotent writes), the batch acknowledged when the sink has it. For copies of a topic into ClickHouse. A record
// the decoder refuses is set aside as poison (dead-lettered by the source), never a reason to stop copying.
import { poisonDetail } from './poison.js';
import type { Sink, SinkRecord, SourceBatch, SourceRecord } from './types.js';

export function storeHandler<T>(
  sink: Sink<T>,
  decode: (record: SourceRecord) => T,
): (batch: SourceBatch) => Promise<void> {
  return async (batch) => {
    const records: SinkRecord<T>[] = [];
    for (const r of batch.records) {
      let value: T;
      try {
        value = decode(r);
      } catch (err) {
        batch.poison(r, poisonDetail(err));
        continue;
      }
      records.push({ key: r.key?.toString() ?? null, value, position: r.position });
    }
    // Not awaited: the source keeps fetching while the sink works, bounded by its unacknowledged-batch limit.
    sink.write(records).then(
      () => batch.ack(),
      (err: unknown) => batch.ack(err instanceof Error ? err : new Error(String(err))),
    );
  };
}
