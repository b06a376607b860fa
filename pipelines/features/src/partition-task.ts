// The online feature stage for one partition of the principal-keyed topic: drops the duplicates an at-least-once
// ingest writes after a crash (by source position, see @vigil/connectors' source header), puts events through the
// partition's reorder buffer and extractor, and returns one feature record per released event. Its state — the
// extractor's, the held events, the source positions — is checkpointed by the transactional processor that runs
// it, together with the feature records and the input offset, so a restart continues exactly where the last
// checkpoint left off: nothing lost, nothing counted twice.
import { parseSource, type SinkRecord, SOURCE_HEADER, type SourceRecord, type StatefulTask } from '@vigil/connectors';
import { type AccessEvent, principalKey } from '@vigil/events';
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

/** What an event carries through the reorder buffer: the trace context its feature record continues. */
type Delivery = Record<string, string>;

const SOURCES = 'sources';
const STREAM = 'stream/';

export class FeaturePartitionTask implements StatefulTask<FeatureRecord> {
  private readonly stream: FeatureStream<Delivery>;
  /** Per source partition, the newest position seen: [offset, index]. */
  private sources = new Map<string, [number, number]>();
  private sourcesChanged = false;
  private readonly counters = pipelineCounters();
  duplicates = 0;

  constructor(extractor: FeatureExtractor, boundMs: number) {
    this.stream = new FeatureStream(extractor, boundMs);
    this.stream.trackChanges();
  }

  get held(): number {
    return this.stream.held;
  }

  process(records: SourceRecord[]): SinkRecord<FeatureRecord>[] {
    this.counters.recordsIn('features', records.length);
    const out: SinkRecord<FeatureRecord>[] = [];
    for (const record of records) {
      if (this.isDuplicate(record)) continue;
      const event = JSON.parse(record.value.toString('utf8')) as AccessEvent;
      for (const row of this.stream.push(event, traceHeaders(record.headers))) {
        const principal = principalKey(row.event);
        out.push({
          key: principal,
          headers: row.payload,
          value: {
            ts: row.event.ts,
            request_id: row.event.request_id,
            principal,
            schema: this.stream.extractor.schema.hash,
            v: Array.from(row.vector),
          },
        });
      }
    }
    this.counters.recordsOut('features', out.length);
    return out;
  }

  /** A record at or before the newest position already seen from its source partition is a re-written duplicate. */
  private isDuplicate(record: SourceRecord): boolean {
    const at = parseSource(record.headers[SOURCE_HEADER]);
    if (!at) return false;
    const seen = this.sources.get(at.stream);
    if (seen && (at.offset < seen[0] || (at.offset === seen[0] && at.index <= seen[1]))) {
      this.duplicates++;
      this.counters.skipped('features', 'duplicate');
      return true;
    }
    this.sources.set(at.stream, [at.offset, at.index]);
    this.sourcesChanged = true;
    return false;
  }

  drainChanges(): [string, Buffer | null][] {
    const out = this.stream.drainChanges().map(([k, v]): [string, Buffer | null] => [STREAM + k, v]);
    if (this.sourcesChanged) out.push([SOURCES, Buffer.from(JSON.stringify([...this.sources]))]);
    this.sourcesChanged = false;
    return out;
  }

  restore(records: Iterable<[string, Buffer]>): void {
    const stream: [string, Buffer][] = [];
    for (const [key, value] of records) {
      if (key === SOURCES) this.sources = new Map(JSON.parse(value.toString('utf8')) as [string, [number, number]][]);
      else if (key.startsWith(STREAM)) stream.push([key.slice(STREAM.length), value]);
    }
    // Held events lose their trace context across a restart; their feature records go out untraced.
    this.stream.restore(stream, {});
  }
}

/** Only the trace context travels on to feature records (the source header describes the input, not them). */
function traceHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers.traceparent !== undefined) out.traceparent = headers.traceparent;
  if (headers.tracestate !== undefined) out.tracestate = headers.tracestate;
  return out;
}
