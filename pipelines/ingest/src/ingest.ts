// The ingest stage: each input record is parsed by its gateway adapter; events go on keyed by principal (and to
// analytics when configured, and re-keyed by entity — client IP, username, tenant — for the entity feature stage),
// failures go to the dead-letter sink with a reason. A batch is acknowledged to its
// source only when every sink has acknowledged, so offsets never move past something not yet durable.
import type { Adapter } from '@vigil/adapters';
import { formatSource, type Sink, type SinkRecord, SOURCE_HEADER, type SourceBatch } from '@vigil/connectors';
import { type AccessEvent, type DeadLetter, principalKey } from '@vigil/events';
import { entityKeys, ROLE_HEADER } from '@vigil/features';
import { extractContext, injectContext, inSpan, pipelineCounters, sampled } from '@vigil/telemetry';
import { type DeadLetterPolicy, deadLetter } from './dead-letter.js';

export interface IngestSinks {
  /** Events keyed by principal (vigil.access.by-principal, or the in-memory bus). */
  events: Sink<AccessEvent>;
  deadLetters: Sink<DeadLetter>;
  /** Analytics copy (ClickHouse access_events). */
  analytics?: Sink<AccessEvent>;
  /** Events re-keyed by entity (vigil.access.by-entity), one record per role the event plays (see entityKeys). */
  entities?: Sink<AccessEvent>;
}

export interface IngestOptions {
  /** The adapter for records from a topic (or from the file source, topic undefined). */
  adapterFor: (topic: string | undefined) => Adapter;
  sinks: IngestSinks;
  /** What dead letters keep of the original record (redacted by default). */
  deadLetters: DeadLetterPolicy;
  /** Trace 1 record in N (by offset, so replays trace the same ones). */
  traceOneIn: number;
}

export interface IngestResult {
  events: SinkRecord<AccessEvent>[];
  deadLetters: SinkRecord<DeadLetter>[];
}

/** Shared by every untraced record: one allocation fewer per event on the hot path (never mutated). */
const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** Parses a batch; pure apart from telemetry, so the offline path reuses it without sinks. */
export function parseBatch(
  batch: Pick<SourceBatch, 'records'>,
  options: Pick<IngestOptions, 'adapterFor' | 'deadLetters' | 'traceOneIn'>,
): IngestResult {
  const events: SinkRecord<AccessEvent>[] = [];
  const deadLetters: SinkRecord<DeadLetter>[] = [];
  for (const record of batch.records) {
    const adapter = options.adapterFor(record.position.topic);
    const offset = Number(record.position.offset ?? record.position.line ?? 0);
    const parse = () =>
      adapter.parse(record.value, record.timestamp === undefined ? undefined : { receivedAt: record.timestamp });
    const traced = record.headers.traceparent !== undefined || sampled(offset, options.traceOneIn);
    let headers = NO_HEADERS;
    let outcomes: ReturnType<Adapter['parse']>;
    try {
      if (traced) {
        outcomes = inSpan('vigil.parse', extractContext(record.headers), (span, ctx) => {
          span.setAttribute('vigil.format', adapter.format);
          headers = injectContext(ctx, {});
          return parse();
        });
      } else {
        outcomes = parse();
      }
    } catch {
      // Adapters turn bad input into reason codes; reaching here is a defect. The record must not stop ingest:
      // it is dead-lettered like any other, and the records around it go on.
      outcomes = [
        {
          ok: false,
          reason: 'unprocessable',
          detail: 'record: the adapter failed on it (a defect in vigil; please report the reason code)',
        },
      ];
    }
    for (const o of outcomes) {
      const position = o.index === undefined ? record.position : { ...record.position, index: o.index };
      if (o.ok) {
        const source = formatSource(position);
        events.push({
          key: principalKey(o.event),
          value: o.event,
          headers: source === undefined ? headers : { ...headers, [SOURCE_HEADER]: source },
          position,
        });
      } else {
        const letter = deadLetter(record.value, o, adapter.format, position, options.deadLetters, adapter.redact);
        deadLetters.push({ key: null, value: letter, headers, position });
      }
    }
  }
  return { events, deadLetters };
}

/** The entity-keyed copies of events: each role an event plays, keyed by that entity, the role in a header. */
export function entityRecords(events: SinkRecord<AccessEvent>[]): SinkRecord<AccessEvent>[] {
  const out: SinkRecord<AccessEvent>[] = [];
  for (const e of events) {
    for (const [role, key] of entityKeys(e.value))
      out.push({ key, value: e.value, headers: { ...e.headers, [ROLE_HEADER]: role }, position: e.position });
  }
  return out;
}

export function createIngestHandler(options: IngestOptions): (batch: SourceBatch) => Promise<void> {
  const counters = pipelineCounters();
  return async (batch) => {
    counters.recordsIn('ingest', batch.records.length);
    const { events, deadLetters } = parseBatch(batch, options);
    for (const d of deadLetters) counters.deadLettered(d.value.reason, d.value.format);
    const writes = [options.sinks.events.write(events), options.sinks.deadLetters.write(deadLetters)];
    if (options.sinks.analytics) writes.push(options.sinks.analytics.write(events));
    if (options.sinks.entities) writes.push(options.sinks.entities.write(entityRecords(events)));
    // Not awaited: the source keeps fetching while sinks work, bounded by its unacknowledged-batch limit.
    Promise.all(writes).then(
      () => {
        counters.recordsOut('ingest', events.length);
        batch.ack();
      },
      (err: unknown) => batch.ack(err instanceof Error ? err : new Error(String(err))),
    );
  };
}
