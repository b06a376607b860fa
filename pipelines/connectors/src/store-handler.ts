// A source handler that only stores: each record parsed and written to one sink (with its source position, for
// idempotent writes), the batch acknowledged when the sink has it. For copies of a topic into ClickHouse.
import type { Sink, SourceBatch, SourceRecord } from './types.js';

export function storeHandler<T>(sink: Sink<T>, parse: (record: SourceRecord) => T): (batch: SourceBatch) => Promise<void> {
  return async (batch) => {
    const records = batch.records.map((r) => ({ key: r.key?.toString() ?? null, value: parse(r), position: r.position }));
    // Not awaited: the source keeps fetching while the sink works, bounded by its unacknowledged-batch limit.
    sink.write(records).then(
      () => batch.ack(),
      (err: unknown) => batch.ack(err instanceof Error ? err : new Error(String(err))),
    );
  };
}
