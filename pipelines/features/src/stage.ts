// The online feature stage: consumes the principal-keyed event topic, puts each partition's events through its own
// reorder buffer and extractor (a partition owns its principals' state), and writes one feature record per event.
// A source batch is acknowledged once every one of its events has been released by the buffer and its feature
// record acknowledged by the sink; events still held (the newest `boundMs` of event time on a quiet partition)
// keep their batch, and so the commit, back until later events release them — on a restart they are read again.
import type { Sink, SinkRecord, SourceBatch } from '@vigil/connectors';
import type { AccessEvent } from '@vigil/events';
import { pipelineCounters } from '@vigil/telemetry';
import type { FeatureExtractor } from './extractor.js';
import { FeatureStream } from './stream.js';

export interface FeatureRecord {
  ts: number;
  request_id: string;
  principal: string;
  schema: string;
  v: number[];
}

interface BatchHandle {
  pending: number;
  pushedAll: boolean;
  done: boolean;
  ack: SourceBatch['ack'];
}

/** What an event carries through the reorder buffer: where its feature record goes and whose batch it settles. */
interface Delivery {
  key: string | null;
  headers: Record<string, string>;
  handle: BatchHandle;
}

export interface FeatureStageOptions {
  makeExtractor: () => FeatureExtractor;
  boundMs: number;
  sink: Sink<FeatureRecord>;
}

export function createFeatureHandler(options: FeatureStageOptions): (batch: SourceBatch) => Promise<void> {
  const partitions = new Map<string, FeatureStream<Delivery>>();
  const counters = pipelineCounters();

  const settle = (handle: BatchHandle) => {
    if (!handle.done && handle.pushedAll && handle.pending === 0) {
      handle.done = true;
      handle.ack();
    }
  };

  return async (batch) => {
    counters.recordsIn('features', batch.records.length);
    const handle: BatchHandle = { pending: batch.records.length, pushedAll: false, done: false, ack: batch.ack };
    const written: Delivery[] = [];
    const outs: SinkRecord<FeatureRecord>[] = [];
    for (const record of batch.records) {
      const where = `${record.position.topic ?? ''}/${record.position.partition ?? 0}`;
      let stream = partitions.get(where);
      if (!stream) {
        stream = new FeatureStream(options.makeExtractor(), options.boundMs);
        partitions.set(where, stream);
      }
      const event = JSON.parse(record.value.toString('utf8')) as AccessEvent;
      for (const row of stream.push(event, { key: record.key?.toString() ?? null, headers: record.headers, handle })) {
        const d = row.payload;
        written.push(d);
        outs.push({
          key: d.key,
          headers: d.headers,
          value: {
            ts: row.event.ts,
            request_id: row.event.request_id,
            principal: d.key ?? '',
            schema: stream.extractor.schema.hash,
            v: Array.from(row.vector),
          },
        });
      }
    }
    // One write for everything released now; each event then counts towards the batch it came from.
    options.sink.write(outs).then(
      () => {
        counters.recordsOut('features', outs.length);
        for (const h of written) {
          h.handle.pending--;
          settle(h.handle);
        }
      },
      (err: unknown) => {
        for (const h of written) {
          if (!h.handle.done) {
            h.handle.done = true;
            h.handle.ack(err instanceof Error ? err : new Error(String(err)));
          }
        }
      },
    );
    handle.pushedAll = true;
    settle(handle);
  };
}
